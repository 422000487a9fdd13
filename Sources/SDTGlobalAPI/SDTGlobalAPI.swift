// The types, server protocol and client of the K$ node's HTTP contract are generated at build time
// from `openapi.yaml` (a link to `openapi/global.yaml`, the one contract) by swift-openapi-generator.
