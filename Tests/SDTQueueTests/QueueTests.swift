import SDTTesting
import Testing
@testable import SDTQueue

@Suite struct QueueTests {
    @Test func pushPullOverLoopbackTCPKeepsOrder() throws {
        let context = QueueContext()
        let endpoint = "tcp://127.0.0.1:\(FreePort.next())"
        let pull = try QueueSocket(context, .pull)
        try pull.bind(endpoint)
        let push = try QueueSocket(context, .push)
        try push.connect(endpoint)
        for index in 0..<500 { try push.send([UInt8(index % 256), UInt8(index / 256)]) }
        var received: [Int] = []
        while received.count < 500, let message = try pull.receive(timeoutMilliseconds: 5_000) {
            received.append(Int(message[0]) + Int(message[1]) * 256)
        }
        #expect(received == Array(0..<500))
        #expect(try pull.receive(timeoutMilliseconds: 10) == nil)
    }

    @Test func sendWithoutPeerTimesOut() throws {
        let context = QueueContext()
        let push = try QueueSocket(context, .push)
        try push.setSendTimeout(milliseconds: 20)
        try push.connect("tcp://127.0.0.1:\(FreePort.next())")
        #expect(throws: QueueError.self) { try push.send([1]) }
    }

    @Test func wireRoundTripAndTruncationIsAnError() throws {
        var writer = WireWriter()
        writer.write(UInt16(513))
        writer.write(Int64(-7))
        writer.write(string: "tx-é")
        var reader = WireReader(writer.bytes)
        #expect(try reader.read(UInt16.self) == 513)
        #expect(try reader.read(Int64.self) == -7)
        #expect(try reader.readString() == "tx-é")
        #expect(reader.isAtEnd)
        var truncated = WireReader(Array(writer.bytes.dropLast()))
        _ = try truncated.read(UInt16.self)
        _ = try truncated.read(Int64.self)
        #expect(throws: WireError.self) { try truncated.readString() }
        var lying = WireReader([255, 255, 255, 255, 1])
        #expect(throws: WireError.self) { try lying.readBytes() }
    }
}
