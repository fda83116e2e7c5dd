package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Job is one manifest row on its way through render and delivery. Its JSON
// form, one object per line, is the record format of job files and of
// export: the workflow's fields (sku, collection, target_surface,
// generation_id, status, output_url, failover_used, completed_at, error) keep
// their names and meaning, and the SDK's own fields follow them.
type Job struct {
	// Key identifies the row: its SKU and a hash of its render inputs (see
	// RowKey). Job files written by the original workflow carry no key; their
	// lines are keyed by SKU.
	Key           string `json:"key"`
	SKU           string `json:"sku"`
	Collection    string `json:"collection,omitempty"`
	TargetSurface string `json:"target_surface,omitempty"`
	// GenerationID is empty until the service has accepted the submission.
	GenerationID string    `json:"generation_id,omitempty"`
	Status       Status    `json:"status"`
	OutputURL    string    `json:"output_url,omitempty"`
	FailoverUsed bool      `json:"failover_used"`
	CompletedAt  time.Time `json:"completed_at,omitzero"`
	Error        string    `json:"error,omitempty"`
	// ProviderStatus keeps a status the service sent that the SDK does not
	// know; Status is left as it was.
	ProviderStatus string `json:"provider_status,omitempty"`
	// FailureClass classifies the error of a failed or submit_failed
	// attempt (see ClassifyFailure); empty otherwise.
	FailureClass FailureClass `json:"failure_class,omitempty"`
	// NotBilled reports that the service said the failed render was not
	// charged (see NotBilled); a failed render otherwise counts as spent.
	NotBilled bool `json:"not_billed,omitempty"`

	// The render inputs, as submitted.
	ImageURL    string              `json:"image_url,omitempty"`
	VideoPrompt string              `json:"video_prompt,omitempty"`
	StillPrompt string              `json:"still_prompt,omitempty"`
	StillURL    string              `json:"still_url,omitempty"`
	Model       string              `json:"model,omitempty"`
	Duration    creativeai.Duration `json:"duration,omitempty"`
	AspectRatio string              `json:"aspect_ratio,omitempty"`
	// Template and TemplateVersion name the prompt template that wrote
	// VideoPrompt and its version (12 hex digits of a SHA-256 of its text);
	// empty when the manifest gave the prompt. The version is part of Key.
	Template        string `json:"template,omitempty"`
	TemplateVersion string `json:"template_version,omitempty"`

	// Attempt counts replays of the row; it is part of the Idempotency-Key, so
	// a replay is a new logical request and a rerun of the same attempt is not.
	Attempt int `json:"attempt,omitempty"`
	// PreviousGenerationIDs lists the generations of earlier attempts, oldest
	// first, so that a replay keeps its traceability.
	PreviousGenerationIDs []string `json:"previous_generation_ids,omitempty"`

	// Archive is the copy of the output kept in the merchant's storage:
	// archive_url, sha256, archive_size and archive_content_type in the
	// record format. The delivery outbox archives a job before delivering
	// it when an archive is configured (see batch/outbox).
	Archive

	// Delivery of a completed video to its target surface (the outbox).
	Delivery         DeliveryState `json:"delivery_status,omitempty"`
	DeliveryAttempts int           `json:"delivery_attempts,omitempty"`
	DeliveryNextAt   time.Time     `json:"delivery_next_at,omitzero"`
	// DeliveryRef is what the sink returned, such as a Shopify media id.
	DeliveryRef   string `json:"delivery_ref,omitempty"`
	DeliveryError string `json:"delivery_error,omitempty"`
	// ApprovedAt is when a person approved the current attempt's video for
	// delivery through the review gate (see Job.Approve); zero until then,
	// and again after a rejection or a replay.
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	// ReviewNote is the note of the last approval or the reason of the last
	// rejection (see Job.Reject); a replay keeps it for the next reviewer.
	ReviewNote string `json:"review_note,omitempty"`

	// Spend of the current attempt (see Job.Reserve): the estimated price
	// reserved before the API calls, in cents at the pricing of the time,
	// the calendar day it counts on (YYYY-MM-DD in the budget's time zone)
	// and when it was reserved. A submit_failed attempt or a render the
	// service did not bill keeps its price for the record but counts
	// nothing beyond a still it paid for (see Job.Spend).
	PriceCents creativeai.Cents `json:"price_cents,omitempty"`
	SpendDay   string           `json:"spend_day,omitempty"`
	ReservedAt time.Time        `json:"reserved_at,omitzero"`
	// StillCents is the part of PriceCents that pays for the refreshed
	// still the attempt renders before its clip; zero when it renders none.
	// StillPaid reports that the still was rendered: StillCents then counts
	// as spent whatever becomes of the clip, since the image service bills
	// the still on its own.
	StillCents creativeai.Cents `json:"still_cents,omitempty"`
	StillPaid  bool             `json:"still_paid,omitempty"`
	// EarlierCharges are what earlier attempts spent, oldest first, kept
	// when a failed render is replayed so that the day it was spent on
	// still counts it.
	EarlierCharges []Charge `json:"earlier_charges,omitempty"`

	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Submitted reports whether the service has accepted the job's current
// attempt. A pending job that is not submitted is in doubt after a crash: it
// is submitted again with the same Idempotency-Key.
func (j *Job) Submitted() bool { return j.GenerationID != "" }

// IdempotencyKey returns the Idempotency-Key sent when submitting the job's
// current attempt: the same for every retry and every rerun of that attempt,
// and new for each replay of a failed render (see [Job.Replay]). It is at
// most 64 characters.
func (j *Job) IdempotencyKey() string {
	return j.idempotencyKey("video")
}

// StillIdempotencyKey returns the Idempotency-Key of the refreshed still of
// the job's current attempt, which never shares a key with its clip.
func (j *Job) StillIdempotencyKey() string {
	return j.idempotencyKey("still")
}

// idempotencyKey derives a key for one kind of request made for a job.
func (j *Job) idempotencyKey(kind string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + j.Key + "\x00" + strconv.Itoa(j.Attempt)))
	prefix := "cv-"
	if kind != "video" {
		prefix = "cv-" + kind + "-"
	}
	return prefix + hex.EncodeToString(h[:20])
}
