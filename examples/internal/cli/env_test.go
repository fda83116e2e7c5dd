package cli

import (
	"slices"
	"testing"
)

func TestLoadEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantSecrets []string
		wantLive    bool
		wantShopify bool
	}{
		{name: "empty", env: nil},
		{
			name:        "secret defaults to the API key",
			env:         map[string]string{EnvAPIKey: " rph_live_k \n"},
			wantSecrets: []string{"rph_live_k"},
			wantLive:    true,
		},
		{
			name:        "explicit secrets for rotation",
			env:         map[string]string{EnvAPIKey: "k", EnvWebhookSecret: "new, old,,"},
			wantSecrets: []string{"new", "old"},
			wantLive:    true,
		},
		{
			name:        "store and token",
			env:         map[string]string{EnvShopifyStore: "s.myshopify.com", EnvShopifyToken: "shpat"},
			wantShopify: true,
		},
		{
			name:        "endpoint URL and token",
			env:         map[string]string{EnvShopifyAdminURL: "http://127.0.0.1:1/graphql.json", EnvShopifyToken: "shpat"},
			wantShopify: true,
		},
		{
			name: "store without token",
			env:  map[string]string{EnvShopifyStore: "s.myshopify.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := LoadEnv(func(k string) string { return tt.env[k] })
			if !slices.Equal(e.WebhookSecrets, tt.wantSecrets) {
				t.Errorf("WebhookSecrets = %q, want %q", e.WebhookSecrets, tt.wantSecrets)
			}
			if e.Live() != tt.wantLive {
				t.Errorf("Live() = %v, want %v", e.Live(), tt.wantLive)
			}
			if e.ShopifyConfigured() != tt.wantShopify {
				t.Errorf("ShopifyConfigured() = %v, want %v", e.ShopifyConfigured(), tt.wantShopify)
			}
		})
	}
}
