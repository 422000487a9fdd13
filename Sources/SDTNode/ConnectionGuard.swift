import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Bounds what one HTTP connection can hold: a request whose head and body have not all arrived
/// within `requestSecondsMax` of its head is cut off (a client stalled mid-body, or trickling bytes,
/// holds a connection no longer), and a request the HTTP parser refuses — headers past the limit,
/// bytes that are not HTTP — is answered 431 or 400 before the connection closes, rather than
/// closed without a word.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let requestSecondsMax: Int64
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    private var answered = false

    init(requestSecondsMax: Int, logger: Logger) {
        self.requestSecondsMax = Int64(requestSecondsMax)
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let seconds = requestSecondsMax
            let logger = logger
            deadline = context.eventLoop.scheduleTask(in: .seconds(requestSecondsMax)) {
                logger.notice("closing a connection whose request did not arrive within \(seconds) s")
                loopBound.value.close(promise: nil)
            }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !answered else {
            context.fireErrorCaught(error)
            return
        }
        answered = true
        deadline?.cancel()
        let tooLarge = parserError == .headerOverflow
        let status: HTTPResponse.Status = tooLarge ? .requestHeaderFieldsTooLarge : .badRequest
        let detail =
            tooLarge
            ? "The request line and headers are larger than this node accepts (limits.http_header_bytes_max)."
            : "The request is not valid HTTP/1.1."
        let body =
            #"{"type":"about:blank","title":"\#(status.reasonPhrase)","status":\#(status.code),"code":"\#(tooLarge ? "headers_too_large" : "bad_request")","detail":"\#(detail)"}"#
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        var fields = HTTPFields()
        fields[.contentType] = "application/problem+json"
        fields[.contentLength] = String(buffer.readableBytes)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }
}
