import Foundation
import SDTCore
import Yams

/// The path and query parameters of every operation, with their schemas, read from the contract the
/// node serves. The generated server decodes parameters by type but checks none of their bounds; this
/// checks them all (type, `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`, `enum`) and refuses
/// a query parameter the operation does not have, each refusal naming the parameter.
struct ContractParameters: Sendable {
    struct Parameter: Sendable {
        enum Kind: String, Sendable {
            case string
            case integer
            case boolean
        }

        let name: String
        let inPath: Bool
        let required: Bool
        let kind: Kind
        let minimum: Int64?
        let maximum: Int64?
        let minLength: Int?
        let maxLength: Int?
        let pattern: String?
        let choices: [String]?

        /// Why `value` does not fit, or nil when it does.
        func problem(_ value: String) -> String? {
            let place = inPath ? "path parameter \(name)" : "query parameter \(name)"
            switch kind {
            case .integer:
                guard let number = Int64(value) else { return "\(place): \(Echo.quoted(value)) is not an integer" }
                if let minimum, number < minimum { return "\(place): \(number) is below the minimum \(minimum)" }
                if let maximum, number > maximum { return "\(place): \(number) is above the maximum \(maximum)" }
            case .boolean:
                guard value == "true" || value == "false" else { return "\(place): \(Echo.quoted(value)) is not true or false" }
            case .string:
                let length = value.count
                if let minLength, length < minLength { return "\(place): must be at least \(minLength) characters" }
                if let maxLength, length > maxLength { return "\(place): is \(length) characters; at most \(maxLength)" }
                if let choices, !choices.contains(value) {
                    return "\(place): \(Echo.quoted(value)) is not one of \(choices.joined(separator: ", "))"
                }
                if let pattern, value.range(of: "^(?:\(pattern))$", options: .regularExpression) == nil {
                    return "\(place): \(Echo.quoted(value)) does not match \(pattern)"
                }
            }
            return nil
        }
    }

    struct Operation: Sendable {
        let method: String
        let segments: [String]
        let parameters: [Parameter]
    }

    let operations: [Operation]

    init(contract: String) throws {
        guard let document = try Yams.load(yaml: contract) as? [String: Any], let paths = document["paths"] as? [String: Any] else {
            throw ConfigError("the contract has no paths")
        }
        let components = (document["components"] as? [String: Any])?["parameters"] as? [String: Any] ?? [:]
        func resolve(_ item: Any) -> [String: Any]? {
            guard let item = item as? [String: Any] else { return nil }
            guard let reference = item["$ref"] as? String else { return item }
            return components[String(reference.split(separator: "/").last ?? "")] as? [String: Any]
        }
        var operations: [Operation] = []
        for (path, value) in paths.sorted(by: { $0.key < $1.key }) {
            guard let methods = value as? [String: Any] else { continue }
            for (method, body) in methods.sorted(by: { $0.key < $1.key }) {
                let items = ((body as? [String: Any])?["parameters"] as? [Any] ?? []).compactMap(resolve)
                operations.append(Operation(
                    method: method.uppercased(), segments: path.split(separator: "/").map(String.init),
                    parameters: items.compactMap(Self.parameter)
                ))
            }
        }
        self.operations = operations
    }

    private static func parameter(_ item: [String: Any]) -> Parameter? {
        guard let name = item["name"] as? String, let place = item["in"] as? String, place == "path" || place == "query" else { return nil }
        let schema = item["schema"] as? [String: Any] ?? [:]
        func integer(_ key: String) -> Int64? { (schema[key] as? Int).map(Int64.init) }
        return Parameter(
            name: name, inPath: place == "path", required: item["required"] as? Bool ?? (place == "path"),
            kind: Parameter.Kind(rawValue: schema["type"] as? String ?? "string") ?? .string,
            minimum: integer("minimum"), maximum: integer("maximum"),
            minLength: (schema["minLength"] as? Int), maxLength: (schema["maxLength"] as? Int),
            pattern: schema["pattern"] as? String, choices: (schema["enum"] as? [Any])?.map { "\($0)" }
        )
    }

    /// Why the request's parameters do not fit its operation, or nil when they do (or when the path
    /// is not the contract's: the router answers that).
    func problem(method: String, path: String, query: String?) -> String? {
        let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        guard let operation = operations.first(where: { operation in
            operation.method == method && operation.segments.count == segments.count
                && zip(operation.segments, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }) else { return nil }
        for (template, value) in zip(operation.segments, segments) where template.hasPrefix("{") {
            let name = String(template.dropFirst().dropLast())
            if let parameter = operation.parameters.first(where: { $0.inPath && $0.name == name }), let problem = parameter.problem(value) {
                return problem
            }
        }
        var seen: Set<String> = []
        for item in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0]).removingPercentEncoding ?? String(pair[0])
            let value = pair.count > 1 ? (String(pair[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
            guard let parameter = operation.parameters.first(where: { !$0.inPath && $0.name == name }) else {
                let known = operation.parameters.filter { !$0.inPath }.map(\.name)
                return "query parameter \(Echo.quoted(name)) is not one of this operation's"
                    + (known.isEmpty ? " (it takes none)" : ": \(known.joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { return "query parameter \(name): given twice; give it once" }
            if let problem = parameter.problem(value) { return problem }
        }
        for parameter in operation.parameters where !parameter.inPath && parameter.required && !seen.contains(parameter.name) {
            return "query parameter \(parameter.name): required"
        }
        return nil
    }
}

