import Foundation
import Testing

/// A plain TCP connection to the node, to behave as no HTTP library would: stall mid-request, send
/// nothing, send oversized headers.
final class RawConnection {
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
    }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer {
            Glibc.send(socket, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL))
        }
    }

    /// Reads until the peer closes, `within` passes, or what arrived contains `marker`; returns what
    /// arrived and whether the peer closed.
    func read(within: Duration, until marker: String? = nil) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + within
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline {
            var poll = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&poll, 1, 100) > 0 else { continue }
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
            if let marker, String(decoding: received, as: UTF8.self).contains(marker) {
                return (String(decoding: received, as: UTF8.self), false)
            }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    deinit { close(socket) }
}

/// Slow and hostile clients hold nothing for long: a request stalled mid-body and a connection that
/// sends nothing are closed within the configured limits, headers past the limit get 431, and past
/// the connection limit a new connection waits until another closes.
@Suite(.serialized) struct SlowClientTests {
    @Test func stalledIdleAndOversizedRequestsAreBounded() async throws {
        let node = try TestNode()
        node.config.limits.httpRequestSecondsMax = 2
        node.config.limits.httpIdleTimeoutSeconds = 3
        node.config.limits.httpHeaderBytesMax = 8_192
        try node.saveConfig()
        try await node.start()
        let port = URL(string: node.client.baseURL)!.port!

        let stalled = try RawConnection(port: port)
        stalled.send(
            "POST /v1/transactions HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"re"
        )
        let start = ContinuousClock.now
        let cut = stalled.read(within: .seconds(8))
        #expect(cut.closed, "a request stalled mid-body was held more than 8 s")
        #expect(ContinuousClock.now - start >= .seconds(1), "closed before the request limit")

        let silent = try RawConnection(port: port)
        #expect(silent.read(within: .seconds(8)).closed, "a connection that sent nothing was held more than 8 s")

        let oversized = try RawConnection(port: port)
        oversized.send(
            "GET /health HTTP/1.1\r\nHost: node\r\nX-Padding: \(String(repeating: "a", count: 64 * 1024))\r\n\r\n")
        let refused = oversized.read(within: .seconds(5))
        #expect(refused.text.hasPrefix("HTTP/1.1 431"), "\(refused.text.prefix(200))")
        #expect(refused.text.contains("headers_too_large"))

        let garbage = try RawConnection(port: port)
        garbage.send("\u{1}\u{2} not http\r\n\r\n")
        #expect(garbage.read(within: .seconds(5)).text.hasPrefix("HTTP/1.1 400"))

        #expect(try await node.client.health().status == .ok)
    }

    /// Past `http_connections_max`, a new connection waits until another closes. The idle timeout is
    /// long here, so that only the test closes the connections it holds.
    @Test func pastTheConnectionLimitANewConnectionWaitsForAFreeOne() async throws {
        let node = try TestNode()
        node.config.limits.httpIdleTimeoutSeconds = 120
        node.config.limits.httpConnectionsMax = 6
        try node.saveConfig()
        try await node.start()
        let port = URL(string: node.client.baseURL)!.port!
        var held: [RawConnection] = []
        for _ in 0..<6 {
            let connection = try RawConnection(port: port)
            // Served, so surely accepted and counted before the next one.
            connection.send("GET /health HTTP/1.1\r\nHost: node\r\n\r\n")
            #expect(connection.read(within: .seconds(5), until: "\r\n\r\n").text.hasPrefix("HTTP/1.1 200"))
            held.append(connection)
        }
        let surplus = try RawConnection(port: port)
        surplus.send("GET /health HTTP/1.1\r\nHost: node\r\n\r\n")
        let early = surplus.read(within: .milliseconds(1_000)).text
        #expect(early.isEmpty, "a connection past the limit was served at once")
        held.removeFirst()
        let served = surplus.read(within: .seconds(10), until: "\r\n\r\n").text
        #expect(served.hasPrefix("HTTP/1.1 200"), "\(served.prefix(200))")
    }
}
