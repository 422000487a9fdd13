import SDTCore

/// Reserve-record fields for tests: a deposit at a test bank, or a bar of fineness 10000 whose fine
/// weight is the amount.
public enum ReserveFields {
    public static func deposit(_ cents: Int64, _ reference: String) -> [OperatorAction.Field: String] {
        [.amount: String(cents), .bank: "Test Bank", .reference: reference, .valueDate: "2026-11-20"]
    }

    public static func bar(_ milligrams: Int64, _ serial: String) -> [OperatorAction.Field: String] {
        [.amount: String(milligrams), .vault: "Test Vault", .barSerial: serial, .refiner: "Test Refiner",
         .grossWeight: String(milligrams), .fineness: "10000"]
    }
}
