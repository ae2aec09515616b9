#if canImport(Glibc)
import Glibc
#endif

/// Gives the memory a policy parse freed back to the kernel.
///
/// Parsing a large policy (up to `PolicyLimits.fileBytes`) briefly needs about 20 MB; glibc
/// keeps freed heap pages mapped, so without this the agent's RSS stays at the largest reload's
/// high-water mark for good. Measured with `fairshare-fuzz --reloads 1000` (a 240 KB policy
/// every 14th reload): RSS 40 MB after the reloads without the trim, 26 MB with it. A reload is
/// rare and the trim takes a few milliseconds.
func returnFreedMemoryToTheKernel() {
    _ = mallocTrim?(0)
}

/// glibc's malloc_trim(3), which the Glibc module does not export; nil on another libc.
private let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    #if canImport(Glibc)
    guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    #else
    return nil
    #endif
}()
