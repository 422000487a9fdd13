// The types, server protocol and client of the region node's HTTP contract are generated at build time
// from `openapi.yaml` (a link to `openapi/openapi.yaml`, the one contract) by swift-openapi-generator.
