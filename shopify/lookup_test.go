package shopify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

func TestSKUQuery(t *testing.T) {
	got := shopify.SKUQuery("A-1", `say "hi"`, `C:\x`, "x OR y")
	want := `sku:"A-1" OR sku:"say \"hi\"" OR sku:"C:\\x" OR sku:"x OR y"`
	if got != want {
		t.Errorf("SKUQuery = %s\nwant       %s", got, want)
	}
}

func TestLookupSKUsBatchesFiftyPerCall(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	var skus []string
	for i := range 120 {
		sku := fmt.Sprintf("SKU-%03d", i)
		srv.AddProduct(shopifytest.Product{Title: sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		skus = append(skus, sku, sku) // duplicates are looked up once
	}
	found, err := srv.Client().LookupSKUs(context.Background(), skus)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 120 {
		t.Errorf("found %d SKUs, want 120", len(found))
	}
	if got := srv.Calls("productVariants"); got != 3 {
		t.Errorf("%d productVariants calls for 120 SKUs, want 3", got)
	}
	if v := found["SKU-077"]; v.SKU != "SKU-077" || v.ProductTitle != "SKU-077" {
		t.Errorf("SKU-077 = %+v", v)
	}
}

func TestLookupSKUsExactMatchOnly(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	lower := srv.AddProduct(shopifytest.Product{Title: "lower", Variants: []shopifytest.Variant{{SKU: "abc-1"}}})
	upper := srv.AddProduct(shopifytest.Product{Title: "upper", Variants: []shopifytest.Variant{{SKU: "ABC-1"}}})
	c := srv.Client()

	v, err := c.LookupSKU(context.Background(), "ABC-1")
	if err != nil || v.ProductID != upper {
		t.Errorf("LookupSKU(ABC-1) = %+v, %v; want product %s only (search ignores case, the SKU does not)", v, err, upper)
	}
	v, err = c.LookupSKU(context.Background(), "abc-1")
	if err != nil || v.ProductID != lower {
		t.Errorf("LookupSKU(abc-1) = %+v, %v; want product %s", v, err, lower)
	}
	_, err = c.LookupSKU(context.Background(), "Abc-1")
	if !errors.Is(err, shopify.ErrSKUNotFound) {
		t.Errorf("LookupSKU(Abc-1) error = %v, want ErrSKUNotFound: search matched two variants, neither exactly", err)
	}
}

func TestLookupSKUsSpecialCharacters(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	skus := []string{`say "hi"`, `back\slash`, "with:colon", "paren(1)", "OR", "two words", `sku:"x"`, "ÄÖ-ü", "x' OR sku:'y"}
	ids := make(map[string]string)
	for _, s := range skus {
		ids[s] = srv.AddProduct(shopifytest.Product{Title: s, Variants: []shopifytest.Variant{{SKU: s}}})
	}
	srv.AddProduct(shopifytest.Product{Title: "decoy", Variants: []shopifytest.Variant{{SKU: "y"}, {SKU: "x"}, {SKU: "hi"}}})
	found, err := srv.Client().LookupSKUs(context.Background(), skus)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range skus {
		if found[s].ProductID != ids[s] {
			t.Errorf("SKU %q resolved to %+v, want product %s", s, found[s], ids[s])
		}
	}
	if st := srv.Stats(); st.Invalid != 0 || st.Calls["productVariants"] != 1 {
		t.Errorf("stats %+v: want one valid call", st)
	}
}

func TestLookupSKUsNotFoundAndAmbiguous(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	one := srv.AddProduct(shopifytest.Product{Title: "Tee", Variants: []shopifytest.Variant{{SKU: "TEE", Title: "S"}, {SKU: "TEE", Title: "M"}}})
	a := srv.AddProduct(shopifytest.Product{Title: "Cap A", Variants: []shopifytest.Variant{{SKU: "CAP"}}})
	b := srv.AddProduct(shopifytest.Product{Title: "Cap B", Variants: []shopifytest.Variant{{SKU: "CAP"}}})

	found, err := srv.Client().LookupSKUs(context.Background(), []string{" TEE ", "CAP", "GONE"})
	if v := found["TEE"]; v.ProductID != one || v.Title != "S" {
		t.Errorf("TEE = %+v: variants of one product sharing a SKU resolve to its first", v)
	}
	if len(found) != 1 {
		t.Errorf("found %v, want only TEE", found)
	}
	var amb *shopify.AmbiguousSKUError
	if !errors.As(err, &amb) || amb.SKU != "CAP" || strings.Join(amb.ProductIDs, ",") != a+","+b {
		t.Errorf("err = %v, want *AmbiguousSKUError for CAP naming %s and %s", err, a, b)
	}
	var nf *shopify.SKUNotFoundError
	if !errors.As(err, &nf) || nf.SKU != "GONE" || !errors.Is(err, shopify.ErrSKUNotFound) {
		t.Errorf("err = %v, want *SKUNotFoundError for GONE", err)
	}
}

func TestLookupSKUsFollowsPages(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	// 30 variants whose SKUs differ from the one wanted only by case all
	// match the search; the exact one comes last.
	var vs []shopifytest.Variant
	for i := range 30 {
		vs = append(vs, shopifytest.Variant{SKU: "dup", Title: fmt.Sprint(i)})
	}
	srv.AddProduct(shopifytest.Product{Title: "Decoys", Variants: vs})
	want := srv.AddProduct(shopifytest.Product{Title: "Real", Variants: []shopifytest.Variant{{SKU: "DUP"}}})
	v, err := srv.Client().LookupSKU(context.Background(), "DUP")
	if err != nil || v.ProductID != want {
		t.Fatalf("LookupSKU = %+v, %v; want product %s", v, err, want)
	}
	if got := srv.Calls("productVariants"); got != 3 {
		t.Errorf("%d calls, want 3 pages of 11 (one SKU and ten more)", got)
	}
}

func TestLookupSKUsEmpty(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	_, err := srv.Client().LookupSKUs(context.Background(), []string{"A", "  "})
	if err == nil || !strings.Contains(err.Error(), "SKU 1 is empty") {
		t.Errorf("err = %v, want one naming the empty SKU's position", err)
	}
	if srv.Stats().Requests != 0 {
		t.Error("a request was sent for invalid input")
	}
}
