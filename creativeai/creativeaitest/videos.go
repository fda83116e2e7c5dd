package creativeaitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Limits of the list endpoint, modelled on comparable APIs (the service does
// not publish one).
const (
	defaultListLimit = 20
	maxListLimit     = 100
)

// maxDurationSeconds bounds the clip length a create may ask for.
const maxDurationSeconds = 60

// maxIdempotencyKey bounds the Idempotency-Key header, as Stripe does.
const maxIdempotencyKey = 255

var aspectRatioPattern = regexp.MustCompile(`^[1-9][0-9]{0,3}:[1-9][0-9]{0,3}$`)

// videoRequest is the body of POST /v1/video/generations. Duration is kept
// raw so that its error can name the field.
type videoRequest struct {
	Model       string          `json:"model"`
	Prompt      string          `json:"prompt"`
	ImageURL    string          `json:"image_url"`
	Duration    json.RawMessage `json:"duration"`
	AspectRatio string          `json:"aspect_ratio"`
	WebhookURL  string          `json:"webhook_url"`
}

// idemRecord remembers what an Idempotency-Key was first used for.
type idemRecord struct {
	fingerprint string
	genID       string       // for a video create
	image       *imageResult // for an image create
}

// badParam is a validation failure of one request field.
type badParam struct {
	param, code, msg string
}

func (s *Server) rejectParam(w http.ResponseWriter, p *badParam) {
	s.reject(w, http.StatusBadRequest, "invalid_request_error", p.code, p.msg, p.param)
}

func (s *Server) createVideo(w http.ResponseWriter, r *http.Request) {
	key, ok := s.idempotencyKey(w, r)
	if !ok {
		return
	}
	var req videoRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	in, hookURL, bad := s.normalizeVideo(&req)
	if bad != nil {
		s.rejectParam(w, bad)
		return
	}
	fp := fingerprint(in, hookURL)

	s.mu.Lock()
	if key != "" {
		if rec, ok := s.idem["video\x00"+key]; ok {
			if rec.fingerprint != fp {
				s.mu.Unlock()
				s.rejectKeyReuse(w, key)
				return
			}
			s.stats.Creates++
			s.stats.IdempotentReplays++
			out := s.gens[rec.genID].gen
			s.mu.Unlock()
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Location", "/v1/video/generations/"+out.ID)
			writeJSON(w, http.StatusAccepted, out)
			return
		}
	}
	g := s.startRenderLocked(in, hookURL)
	if key != "" {
		s.idem["video\x00"+key] = &idemRecord{fingerprint: fp, genID: g.gen.ID}
	}
	s.stats.Creates++
	out := g.gen
	s.mu.Unlock()
	w.Header().Set("Location", "/v1/video/generations/"+out.ID)
	writeJSON(w, http.StatusAccepted, out)
}

// normalizeVideo validates a create request and fills in the defaults.
func (s *Server) normalizeVideo(req *videoRequest) (RenderInput, string, *badParam) {
	in := RenderInput{
		Model:       strings.TrimSpace(req.Model),
		Prompt:      strings.TrimSpace(req.Prompt),
		ImageURL:    strings.TrimSpace(req.ImageURL),
		Duration:    ServiceDefaultDuration,
		AspectRatio: strings.TrimSpace(req.AspectRatio),
	}
	if in.Prompt == "" {
		return in, "", &badParam{"prompt", "missing_prompt", "prompt is required"}
	}
	if in.ImageURL == "" {
		return in, "", &badParam{"image_url", "missing_image_url", "image_url is required"}
	}
	if err := checkURL(in.ImageURL); err != nil {
		return in, "", &badParam{"image_url", "invalid_image_url", "image_url " + err.Error()}
	}
	if in.Model == "" {
		in.Model = ServiceDefaultModel
	} else if !s.cfg.models[in.Model] {
		return in, "", &badParam{"model", "model_not_found", fmt.Sprintf("unknown model %q", in.Model)}
	}
	if len(req.Duration) > 0 && string(req.Duration) != "null" {
		var d creativeai.Duration
		if err := json.Unmarshal(req.Duration, &d); err != nil {
			return in, "", &badParam{"duration", "invalid_duration", fmt.Sprintf("duration %s: want seconds such as \"5s\" or 5", req.Duration)}
		}
		if d < 1 || d > maxDurationSeconds {
			return in, "", &badParam{"duration", "invalid_duration", fmt.Sprintf("duration %s: want 1 to %d seconds", req.Duration, maxDurationSeconds)}
		}
		in.Duration = d
	}
	if in.AspectRatio == "" {
		in.AspectRatio = ServiceDefaultAspectRatio
	} else if !aspectRatioPattern.MatchString(in.AspectRatio) {
		return in, "", &badParam{"aspect_ratio", "invalid_aspect_ratio", fmt.Sprintf("aspect_ratio %q: want width:height such as \"16:9\"", in.AspectRatio)}
	}
	hookURL := strings.TrimSpace(req.WebhookURL)
	if hookURL != "" {
		if err := checkURL(hookURL); err != nil {
			return in, "", &badParam{"webhook_url", "invalid_webhook_url", "webhook_url " + err.Error()}
		}
	}
	return in, hookURL, nil
}

// checkURL reports why raw is not an absolute http(s) URL.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an absolute http or https URL", raw)
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	}
	return nil
}

// fingerprint identifies a request body for idempotency: two bodies that
// mean the same thing (field order, defaults spelled out or left out) match.
func fingerprint(v ...any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("creativeaitest: fingerprint: " + err.Error())
	}
	return string(b)
}

// idempotencyKey reads and checks the Idempotency-Key header; it answers the
// request itself and reports false when the key is unusable.
func (s *Server) idempotencyKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		s.reject(w, http.StatusBadRequest, "invalid_request_error", "invalid_idempotency_key",
			fmt.Sprintf("Idempotency-Key must be at most %d printable characters", maxIdempotencyKey), "")
		return "", false
	}
	return key, true
}

// rejectKeyReuse answers a key seen before with another body. It is a 422,
// not a 409: clients retry 409, and retrying cannot fix this.
func (s *Server) rejectKeyReuse(w http.ResponseWriter, key string) {
	s.reject(w, http.StatusUnprocessableEntity, "idempotency_error", "idempotency_key_reused",
		fmt.Sprintf("Idempotency-Key %q was already used with a different request body", key), "")
}

// decodeBody decodes one JSON object from the request body into v; it
// answers the request itself and reports false when the body is unusable.
// Unknown fields are ignored, as the service tolerates them.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		s.reject(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "body_too_large",
			fmt.Sprintf("request body over %d bytes", tooBig.Limit), "")
	case errors.As(err, &typeErr):
		s.reject(w, http.StatusBadRequest, "invalid_request_error", "invalid_type",
			fmt.Sprintf("field %s: want %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value), typeErr.Field)
	default:
		s.reject(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "invalid JSON body: "+err.Error(), "")
	}
	return false
}

func (s *Server) getVideo(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	g, ok := s.gens[id]
	var out creativeai.Generation
	if ok {
		s.stats.Polls++
		out = g.gen
	}
	s.mu.Unlock()
	if !ok {
		s.reject(w, http.StatusNotFound, "not_found_error", "generation_not_found", fmt.Sprintf("no video generation %q", id), "id")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listPage is one page of GET /v1/video/generations.
type listPage struct {
	Object     string                  `json:"object"`
	Data       []creativeai.Generation `json:"data"`
	HasMore    bool                    `json:"has_more"`
	NextCursor string                  `json:"next_cursor,omitempty"`
}

// listVideos serves generations newest first. The cursor is the id of the
// last generation of the previous page, so pages stay stable while new
// generations are created.
func (s *Server) listVideos(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := creativeai.Status(q.Get("status"))
	switch status {
	case "", creativeai.StatusPending, creativeai.StatusProcessing, creativeai.StatusCompleted, creativeai.StatusFailed:
	default:
		s.rejectParam(w, &badParam{"status", "invalid_status", fmt.Sprintf("status %q: want pending, processing, completed or failed", status)})
		return
	}
	limit := defaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			s.rejectParam(w, &badParam{"limit", "invalid_limit", fmt.Sprintf("limit %q: want 1 to %d", v, maxListLimit)})
			return
		}
		limit = n
	}
	cursor := q.Get("cursor")

	s.mu.Lock()
	start := len(s.order)
	if cursor != "" {
		g, ok := s.gens[cursor]
		if !ok {
			s.mu.Unlock()
			s.rejectParam(w, &badParam{"cursor", "invalid_cursor", fmt.Sprintf("cursor %q is not a generation id", cursor)})
			return
		}
		start = g.index
	}
	page := listPage{Object: "list", Data: make([]creativeai.Generation, 0, limit)}
	for i := start - 1; i >= 0; i-- {
		g := s.order[i]
		if status != "" && g.gen.Status != status {
			continue
		}
		if len(page.Data) == limit {
			page.HasMore = true
			break
		}
		page.Data = append(page.Data, g.gen)
	}
	s.stats.Lists++
	s.mu.Unlock()
	if page.HasMore {
		page.NextCursor = page.Data[len(page.Data)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}
