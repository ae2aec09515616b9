import CTOML
import TOMLKit

#if canImport(Glibc)
import Glibc
#endif

/// Scalar values read without TOMLKit 0.6's leaks.
///
/// TOMLKit's `string`, `int`, `bool` and `double` copy the value into memory from malloc or
/// strdup and never free it, so every reload would keep a little of every value it read. These
/// read the same toml++ node through the same C functions and free the copy. The node pointer
/// is internal to TOMLKit, so it is found by name (Mirror); should a TOMLKit version rename it,
/// they fall back to TOMLKit's own accessors (correct, only leaky again).
extension TOMLValueConvertible {
    var ownedString: String? {
        guard let node = nodePointer else { return string }
        guard tomlValue.type == .string, let copy = nodeAsString(node) else { return nil }
        defer { free(UnsafeMutableRawPointer(mutating: copy)) }
        return String(cString: copy)
    }

    var ownedInt: Int? {
        guard let node = nodePointer else { return int }
        guard tomlValue.type == .int, let copy = nodeAsInt(node) else { return nil }
        defer { free(UnsafeMutableRawPointer(mutating: copy)) }
        return Int(copy.pointee)
    }

    var ownedBool: Bool? {
        guard let node = nodePointer else { return bool }
        guard tomlValue.type == .bool, let copy = nodeAsBool(node) else { return nil }
        defer { free(UnsafeMutableRawPointer(mutating: copy)) }
        return copy.pointee
    }

    var ownedDouble: Double? {
        guard let node = nodePointer else { return double }
        guard tomlValue.type == .double, let copy = nodeAsDouble(node) else { return nil }
        defer { free(UnsafeMutableRawPointer(mutating: copy)) }
        return copy.pointee
    }

    /// The toml++ node behind this value (nil if TOMLKit renamed its field: see the tests).
    var nodePointer: OpaquePointer? {
        Mirror(reflecting: tomlValue).descendant("tomlValuePointer") as? OpaquePointer
    }
}

extension TOMLTable {
    /// `keys` without TOMLKit 0.6's leak (it never frees the C array of key copies it reads).
    var ownedKeys: [String] {
        guard let table = Mirror(reflecting: self).descendant("tablePointer") as? OpaquePointer else { return keys }
        let count = self.count
        let copies = tableGetKeys(table)
        defer {
            for i in 0..<count { free(UnsafeMutableRawPointer(mutating: copies[i])) }
            free(UnsafeMutableRawPointer(mutating: copies))
        }
        return (0..<count).map { String(cString: copies[$0]) }
    }
}
