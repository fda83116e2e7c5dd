package cli

import (
	"cmp"
	"fmt"
	"strings"
)

// The environment variables the programs read.
const (
	EnvAPIKey            = "CREATIVEAI_API_KEY"
	EnvBaseURL           = "CREATIVEAI_BASE_URL"
	EnvWebhookSecret     = "CREATIVEAI_WEBHOOK_SECRET"
	EnvShopifyStore      = "SHOPIFY_STORE"
	EnvShopifyToken      = "SHOPIFY_ADMIN_TOKEN"
	EnvShopifyAPIVersion = "SHOPIFY_API_VERSION"
	EnvShopifyAdminURL   = "SHOPIFY_ADMIN_API_URL"
	EnvConsoleToken      = "CATALOGVIDEO_CONSOLE_TOKEN"
)

// Env is the programs' configuration from the environment.
type Env struct {
	// APIKey is CREATIVEAI_API_KEY; empty means no live API.
	APIKey string
	// BaseURL is CREATIVEAI_BASE_URL; empty means the client's default host.
	BaseURL string
	// WebhookSecrets are the signing secrets webhooks are checked against:
	// CREATIVEAI_WEBHOOK_SECRET split at commas (several during a rotation),
	// or the API key when that is unset, as the service signs with the key by
	// default.
	WebhookSecrets []string

	// ShopifyStore is SHOPIFY_STORE, such as "your-store.myshopify.com".
	ShopifyStore string
	// ShopifyToken is SHOPIFY_ADMIN_TOKEN.
	ShopifyToken string
	// ShopifyAPIVersion is SHOPIFY_API_VERSION; empty means the publisher's
	// default version.
	ShopifyAPIVersion string
	// ShopifyAdminURL is SHOPIFY_ADMIN_API_URL, the full GraphQL endpoint;
	// it overrides the store and version.
	ShopifyAdminURL string

	// ConsoleToken is CATALOGVIDEO_CONSOLE_TOKEN, which the operator console
	// requires on a non-loopback address.
	ConsoleToken string
}

// LoadEnv reads the environment through getenv (os.Getenv in programs).
// Values are trimmed, so a stray newline from a secrets file does not break
// a signature.
func LoadEnv(getenv func(string) string) Env {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	e := Env{
		APIKey:            get(EnvAPIKey),
		BaseURL:           get(EnvBaseURL),
		ShopifyStore:      get(EnvShopifyStore),
		ShopifyToken:      get(EnvShopifyToken),
		ShopifyAPIVersion: get(EnvShopifyAPIVersion),
		ShopifyAdminURL:   get(EnvShopifyAdminURL),
		ConsoleToken:      get(EnvConsoleToken),
	}
	e.WebhookSecrets = splitSecrets(cmp.Or(get(EnvWebhookSecret), e.APIKey))
	return e
}

func splitSecrets(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Live reports whether a CreativeAI API key is set, so programs talk to the
// real service instead of the simulator.
func (e Env) Live() bool { return e.APIKey != "" }

// ShopifyConfigured reports whether enough Shopify settings are present to
// publish: a token and either a store or a full endpoint URL.
func (e Env) ShopifyConfigured() bool {
	return e.ShopifyToken != "" && (e.ShopifyStore != "" || e.ShopifyAdminURL != "")
}

// CheckShopify reports a half-configured Shopify store: a store or endpoint
// without a token, or a token with neither.
func (e Env) CheckShopify() error {
	hasTarget := e.ShopifyStore != "" || e.ShopifyAdminURL != ""
	switch {
	case hasTarget && e.ShopifyToken == "":
		return fmt.Errorf("%s is not set, but %s or %s is", EnvShopifyToken, EnvShopifyStore, EnvShopifyAdminURL)
	case !hasTarget && e.ShopifyToken != "":
		return fmt.Errorf("%s is set, but neither %s nor %s is", EnvShopifyToken, EnvShopifyStore, EnvShopifyAdminURL)
	}
	return nil
}
