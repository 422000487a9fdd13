import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago, for a test's or the demo's server to listen on.
///
/// It is taken below Linux's ephemeral range (32768-60999 by default), where the kernel never puts the
/// client sockets of outgoing connections: a port picked from inside that range could be taken by any
/// connection the tests make before the server binds it ("Address already in use"). No port is handed
/// out twice by one process.
public enum FreePort {
    /// The range ports are taken from, and the ports already handed out.
    static let range = 20_000..<32_768
    private static let given = Mutex<Set<Int>>([])

    public static func next() -> Int {
        given.withLock { given in
            let start = Int.random(in: range)
            for offset in 0..<range.count {
                let port = range.lowerBound + (start - range.lowerBound + offset) % range.count
                guard !given.contains(port), isFree(port) else { continue }
                given.insert(port)
                return port
            }
            preconditionFailure("no TCP port on 127.0.0.1 in \(range) is free and not handed out already")
        }
    }

    /// Whether a socket can bind 127.0.0.1:`port` now.
    static func isFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(descriptor >= 0, "socket() failed")
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        } == 0
    }
}
