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

/// Fixes glibc's mmap threshold at its initial 128 KiB (mallopt(M_MMAP_THRESHOLD)), which
/// also turns off its dynamic raise: after a large block is freed, glibc would serve later
/// large blocks from the heap, and a small allocation above them then keeps megabytes there
/// that malloc_trim can not give back. Measured with `fairshare-fuzz --reloads 1000` on a
/// loaded host: RSS after the reloads varied by 6.5 MB between runs of the same build (once
/// +6.3 MB, over the +5 MB bound); with the threshold fixed it stays within 0.1 MB, and the
/// peak falls from 52 to 45 MB. Blocks of 128 KiB and more (a policy's text, a large scan's
/// arrays) are then mapped and unmapped each time, a system call pair per such block.
public func keepLargeAllocationsOffTheHeap() {
    #if canImport(Glibc)
    guard let symbol = dlsym(nil, "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    _ = mallopt(-3, 128 * 1024)  // M_MMAP_THRESHOLD (malloc.h)
    #endif
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
