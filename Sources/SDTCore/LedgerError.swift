/// A failure of the ledger store itself (not a business rejection, which is an `OutcomeCode`).
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable {
        /// SQLite could not do what was asked: disk, lock, or corruption.
        case storage
        /// The stored data breaks an invariant the ledger relies on.
        case invariant
        /// The caller asked for something that does not exist or is not allowed.
        case usage
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
