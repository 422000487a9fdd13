extension RegionConfig {
    /// The config as TOML in the layout of `regions/*.toml`; `parse(tomlText)` gives it back.
    public var tomlText: String {
        func quoted(_ values: [String]) -> String { "[" + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return """
        region = "\(region)"
        name = "\(name)"
        jurisdiction = "\(jurisdiction)"
        tokens = \(quoted(tokens.map(\.rawValue)))
        \(rulesPath.map { "rules = \"\($0)\"" } ?? "")
        \(treasuryAccount.map { "treasury_account = \"\($0)\"" } ?? "")

        [endpoints]
        http = "\(httpAddress)"
        \(metricsAddress.map { "metrics = \"\($0)\"" } ?? "")
        queue = "\(queueEndpoint)"
        outcomes = "\(outcomesEndpoint)"
        \(queuePublicKey.map { "queue_public_key = \"\($0)\"\nfront_public_keys = \(quoted(frontPublicKeys))" } ?? "")

        [operators]
        keys = \(quoted(operatorKeys))
        \(operatorRoles.isEmpty ? "" : "[operators.roles]\n" + operatorRoles.keys.sorted().map { key in
            "\"\(key)\" = \(quoted(operatorRoles[key]!.sorted().map(\.rawValue)))"
        }.joined(separator: "\n"))

        [limits]
        transaction_id_lifetime_seconds = \(limits.transactionIDLifetimeSeconds)
        transaction_ids_per_request_max = \(limits.transactionIDsPerRequestMax)
        batch_transfers_max = \(limits.batchTransfersMax)
        request_body_bytes_max = \(limits.requestBodyBytesMax)
        apply_batch_max = \(limits.applyBatchMax)
        block_entries_max = \(limits.blockEntriesMax)
        sync_wait_milliseconds = \(limits.syncWaitMilliseconds)
        http_idle_timeout_seconds = \(limits.httpIdleTimeoutSeconds)
        http_request_seconds_max = \(limits.httpRequestSecondsMax)
        http_connections_max = \(limits.httpConnectionsMax)
        http_header_bytes_max = \(limits.httpHeaderBytesMax)

        """ + (registry.map { "\n[registry]\nfile = \"\($0.path)\"\nauthority_key = \"\($0.authorityKey)\"\n" } ?? "")
            + (kdollarEndpoint.map { "\n[kdollar]\nendpoint = \"\($0)\"\n" } ?? "")
            + (bank.map { bank in
                "\n[bank]\nname = \"\(bank.name)\"\nbic = \"\(bank.bic)\"\n"
                    + "reserve_account = \"\(bank.reserveAccount)\"\n"
                    + (bank.outbox.map { "outbox = \"\($0)\"\n" } ?? "")
            } ?? "") + (tls.map { tls in
            "\n[tls]\ncertificate = \"\(tls.certificatePath)\"\nprivate_key = \"\(tls.privateKeyPath)\"\n"
                + (tls.clientCAPath.map { "client_ca = \"\($0)\"\n" } ?? "")
        } ?? "") + (custody.map { custody in
            """

            [custody]
            transcript = "\(custody.transcriptPath)"
            custodians = \(quoted(custody.endpoints))
            timeout_milliseconds = \(custody.timeoutMilliseconds)

            """
        } ?? "")
    }
}
