import ArgumentParser
import Foundation
import SDTCrypto

/// Where a keystore passphrase comes from: `--passphrase-file`, the `SDT_PASSPHRASE` environment
/// variable, or a prompt on the terminal. Never a command-line argument, which other users can see.
struct PassphraseOptions: ParsableArguments {
    @Option(help: "Read the keystore passphrase from this file (first line). Otherwise $SDT_PASSPHRASE, or a prompt.")
    var passphraseFile: String?

    func passphrase(prompt: String) throws -> String {
        if let passphraseFile {
            guard let text = try? String(contentsOfFile: passphraseFile, encoding: .utf8) else {
                throw ValidationError("cannot read --passphrase-file \(passphraseFile)")
            }
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        if let value = ProcessInfo.processInfo.environment["SDT_PASSPHRASE"] { return value }
        guard isatty(STDIN_FILENO) == 1, let typed = getpass(prompt) else {
            throw ValidationError("no passphrase: use --passphrase-file FILE or set SDT_PASSPHRASE")
        }
        return String(cString: typed)
    }

    func openKey(_ path: String) throws -> SigningKey {
        let store = try Keystore.read(from: path)
        return try store.open(passphrase: passphrase(prompt: "Passphrase for \(path): "))
    }
}

/// Turns a library failure into a one-line message and exit code 1.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode.failure
}

/// `--out` of a command that makes a new keystore, and the passphrase it is sealed under.
struct NewKeystoreOptions: ParsableArguments {
    @Option(help: "Keystore file to create.") var out: String
    @OptionGroup var passphrase: PassphraseOptions

    func validate() throws {
        guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists; choose another path") }
    }

    /// Makes a fresh key, seals it (Argon2id + XChaCha20-Poly1305) for `purpose` into `out`, returns it.
    func create(purpose: String) throws -> SigningKey {
        let key = SigningKey()
        try Keystore.seal(key, purpose: purpose, passphrase: passphrase.passphrase(prompt: "New passphrase: ")).write(to: out)
        return key
    }
}
