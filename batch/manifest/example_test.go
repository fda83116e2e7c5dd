package manifest_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

func ExampleNewReader() {
	csv := "\ufeffSKU,Image_URL,Video_Prompt,Target_Surface\r\n" +
		"SKU-1001,https://cdn.example.com/mug.jpg,\"slow push, clean white sweep\",shopify-pdp\r\n" +
		"SKU-1002,cdn.example.com/shoe.jpg,gentle rotation,shopify-pdp\r\n" +
		",https://cdn.example.com/bag.jpg,lifestyle motion,meta-ads\r\n"
	m, err := manifest.NewReader(strings.NewReader(csv), "product-videos.csv")
	if err != nil {
		log.Fatal(err) // a *manifest.Error: nothing has been read
	}
	for row, err := range m.Rows() {
		if err != nil {
			fmt.Println("skip:", err) // a *manifest.RowError; the next rows are still read
			continue
		}
		fmt.Printf("line %d: %s %q -> %s\n", row.Line, row.SKU, row.VideoPrompt, row.TargetSurface)
	}
	// Output:
	// line 2: SKU-1001 "slow push, clean white sweep" -> shopify-pdp
	// skip: product-videos.csv:3: image_url "cdn.example.com/shoe.jpg" is not an absolute http(s) URL (sku "SKU-1002")
	// skip: product-videos.csv:4: sku is empty
}

func ExampleNewReader_missingColumn() {
	_, err := manifest.NewReader(strings.NewReader("sku,image_url,prompt\n"), "product-videos.csv")
	fmt.Println(err)
	// Output:
	// product-videos.csv:1: missing required column video_prompt (the header has ["sku" "image_url" "prompt"])
}

// The key's hash is part of every job file: changing how it is computed
// would make every tracked row look new and render it again.
func ExampleRowKey() {
	row := manifest.Row{SKU: "SKU-1001", ImageURL: "https://cdn.example.com/mug.jpg", VideoPrompt: "slow push"}
	key := manifest.RowKey(row, manifest.Defaults{})
	fmt.Println(key)
	// Spelling out a default names the same render.
	row.Model = "kling-v3"
	fmt.Println(manifest.RowKey(row, manifest.Defaults{}) == key)
	// Changing a default makes a new version of the row.
	fmt.Println(manifest.RowKey(row, manifest.Defaults{AspectRatio: "9:16"}) == key)
	// Output:
	// SKU-1001#d821b2fb2543d8dc
	// true
	// false
}
