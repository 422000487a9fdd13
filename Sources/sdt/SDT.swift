import ArgumentParser

@main
struct SDT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdt",
        abstract: "State Depository Token platform: region node, wallet, operator tools, audit, demo and benchmark.",
        subcommands: [
            NodeCommand.self, AdminCommand.self, WalletCommand.self, AuditCommand.self, DemoCommand.self, BenchCommand.self,
            CryptoCommand.self, CeremonyCommand.self, CustodianCommand.self, SimulateCommand.self, RegistryCommand.self,
            BankCommand.self, GlobalCommand.self,
        ]
    )
}
