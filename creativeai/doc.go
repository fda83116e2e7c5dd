// Package creativeai is a typed client for the CreativeAI render API: video
// generations from a product still, refreshed stills, the statuses a render
// moves through, buyer-facing status copy, and per-SKU cost math.
package creativeai
