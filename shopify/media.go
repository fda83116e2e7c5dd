package shopify

// MediaStatus is where a media item is in Shopify's processing.
type MediaStatus string

// The media statuses Shopify reports.
const (
	MediaStatusUploaded   MediaStatus = "UPLOADED"
	MediaStatusProcessing MediaStatus = "PROCESSING"
	MediaStatusReady      MediaStatus = "READY"
	MediaStatusFailed     MediaStatus = "FAILED"
)
