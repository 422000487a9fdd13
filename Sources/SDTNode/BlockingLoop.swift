import Foundation
import ServiceLifecycle

/// Runs `loop` on a thread of its own — for parts whose calls block (ZeroMQ, SQLite) and so must stay
/// off the task pool — until it returns. On graceful shutdown `stop` is called, and `loop` is
/// expected to notice within one of its poll intervals.
func runBlockingLoop(named name: String, _ loop: @escaping @Sendable () -> Void, stop: @escaping @Sendable () -> Void) async {
    let finished = AsyncStream<Void>.makeStream()
    let thread = Thread {
        loop()
        finished.continuation.finish()
    }
    thread.name = name
    thread.start()
    await withGracefulShutdownHandler {
        for await _ in finished.stream {}
    } onGracefulShutdown: {
        stop()
    }
}
