package shopifytest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

func ExampleNewServer() {
	srv := shopifytest.NewServer()
	defer srv.Close()
	id := srv.AddProduct(shopifytest.Product{Title: "Desk Lamp", Variants: []shopifytest.Variant{{SKU: "LAMP-1"}}})

	v, err := srv.Client().LookupSKU(context.Background(), "LAMP-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.ProductID == id, v.ProductTitle)
	st := srv.Stats()
	fmt.Println(st.Requests, st.Calls["productVariants"], st.Invalid)
	// Output:
	// true Desk Lamp
	// 1 1 0
}
