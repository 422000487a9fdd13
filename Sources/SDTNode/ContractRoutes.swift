import HTTPTypes

/// The contract's paths and the methods each has, read from the contract the node serves, so that a
/// method a path does not have is answered 405 with `Allow` (not 404), and the two cannot disagree.
struct ContractRoutes: Sendable {
    struct Route: Sendable {
        let segments: [String]
        var methods: [String]

        /// Whether `path` fits this template (`{name}` matches one segment).
        func matches(_ path: [Substring]) -> Bool {
            path.count == segments.count && zip(segments, path).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
    }

    let routes: [Route]

    /// Reads the `paths:` section of an OpenAPI document: two-space-indented path keys, four-space
    /// indented method keys.
    init(contract: String) {
        var routes: [Route] = []
        var inPaths = false
        for line in contract.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if !line.hasPrefix(" "), !line.isEmpty { break }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                let path = line.dropFirst(2).dropLast()
                routes.append(Route(segments: path.split(separator: "/").map(String.init), methods: []))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"), !routes.isEmpty {
                let method = line.dropFirst(4).dropLast().uppercased()
                if ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(method) { routes[routes.count - 1].methods.append(method) }
            }
        }
        self.routes = routes
    }

    /// The methods the contract has for `path`, or nil when it has no such path. As OpenAPI says, a
    /// path with more literal segments wins over a templated one (`/v1/transactions/batch` is not
    /// `/v1/transactions/{id}`).
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        let matching = routes.filter { $0.matches(segments) }
        let literals = { (route: Route) in route.segments.filter { !$0.hasPrefix("{") }.count }
        guard let most = matching.map(literals).max() else { return nil }
        let found = matching.filter { literals($0) == most }.flatMap(\.methods)
        return found.isEmpty ? nil : found
    }
}
