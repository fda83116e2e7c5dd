package shopify

import _ "embed"

//go:generate go run github.com/Khan/genqlient genqlient.yaml

// Schema is the subset of the Admin GraphQL schema this package's operations
// use, as SDL. shopifytest validates every request against it.
//
//go:embed schema.graphql
var Schema string
