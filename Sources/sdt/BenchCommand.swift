import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark the node through real HTTP on loopback.")
    func run() async throws { throw ValidationError("not built yet") }
}
