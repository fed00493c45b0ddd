#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file. Weights point straight into it, so the mapping
/// lives as long as the model that uses it.
final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws(ModelFileError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(path: path, reason: "not a regular file") }
        let size = Int(info.st_size)
        guard size > 0 else { throw .tooSmall(size: 0) }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Maps nothing: holds a private copy of the bytes (used for models built in memory and in tests).
    init(copying data: [UInt8]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { buffer.copyMemory(from: $0) }
        bytes = UnsafeRawBufferPointer(start: buffer.baseAddress, count: data.count)
        isOwnedCopy = true
    }

    private var isOwnedCopy = false

    /// Lets the system drop the resident pages wholly inside [start, start + count) of the mapping
    /// (MADV_DONTNEED): the bytes stay what they are, a later read maps them again from the file.
    /// Does nothing for a copy or for a range outside the mapping.
    func releasePages(_ start: UnsafeRawPointer, count: Int) {
        guard !isOwnedCopy, let base = bytes.baseAddress, start >= base, start + count <= base + bytes.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page, end = (Int(bitPattern: start) + count) / page * page
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        madvise(pointer, end - first, Int32(MADV_DONTNEED))
    }

    deinit {
        if isOwnedCopy {
            UnsafeMutableRawPointer(mutating: bytes.baseAddress)?.deallocate()
        } else if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
