package creativeaitest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Image generation limits, from the service's OpenAI-compatible page.
const (
	defaultImageModel = "gpt-image-1"
	defaultImageSize  = "1024x1024"
	maxImagesPerCall  = 4
	minImageSide      = 16
	maxImageSide      = 4096
)

// imageModels are the model aliases the service documents for stills.
var imageModels = map[string]bool{"gpt-image-1": true, "dall-e-3": true, "seedream-3": true}

// imageRequest is the body of POST /v1/images/generations.
type imageRequest struct {
	Model             string `json:"model"`
	Prompt            string `json:"prompt"`
	Size              string `json:"size"`
	N                 int    `json:"n"`
	ImageURL          string `json:"image_url"`
	StyleReferenceURL string `json:"style_reference_url"`
	CameraAngle       string `json:"camera_angle"`
	ResponseFormat    string `json:"response_format"`
}

// imageResult is the OpenAI-compatible answer.
type imageResult struct {
	Created int64       `json:"created"`
	Data    []imageData `json:"data"`
}

type imageData struct {
	URL           string `json:"url"`
	RevisedPrompt string `json:"revised_prompt,omitempty"`
}

// still is a generated image; its png is drawn when downloaded.
type still struct {
	width, height int
}

func (s *Server) createImage(w http.ResponseWriter, r *http.Request) {
	key, ok := s.idempotencyKey(w, r)
	if !ok {
		return
	}
	var req imageRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	width, height, bad := normalizeImage(&req)
	if bad != nil {
		s.rejectParam(w, bad)
		return
	}
	fp := fingerprint(req)

	s.mu.Lock()
	if key != "" {
		if rec, ok := s.idem["image\x00"+key]; ok {
			if rec.fingerprint != fp {
				s.mu.Unlock()
				s.rejectKeyReuse(w, key)
				return
			}
			s.stats.IdempotentReplays++
			out := rec.image
			s.mu.Unlock()
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	out := &imageResult{Created: time.Now().Unix(), Data: make([]imageData, req.N)}
	for i := range out.Data {
		id := s.newID("img_", "image", fp, strconv.Itoa(s.stats.Images))
		s.images[id] = &still{width: width, height: height}
		s.stats.Images++
		out.Data[i] = imageData{URL: s.URL + "/outputs/" + id + ".png", RevisedPrompt: req.Prompt}
	}
	if key != "" {
		s.idem["image\x00"+key] = &idemRecord{fingerprint: fp, image: out}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// normalizeImage validates an image request in place, filling in defaults,
// and returns the image size.
func normalizeImage(req *imageRequest) (width, height int, bad *badParam) {
	req.Prompt = strings.TrimSpace(req.Prompt)
	if req.Prompt == "" {
		return 0, 0, &badParam{"prompt", "missing_prompt", "prompt is required"}
	}
	req.Model = strings.TrimSpace(req.Model)
	if req.Model == "" {
		req.Model = defaultImageModel
	} else if !imageModels[req.Model] {
		return 0, 0, &badParam{"model", "model_not_found", fmt.Sprintf("unknown image model %q (want gpt-image-1, dall-e-3 or seedream-3)", req.Model)}
	}
	if req.N == 0 {
		req.N = 1
	}
	if req.N < 1 || req.N > maxImagesPerCall {
		return 0, 0, &badParam{"n", "invalid_n", fmt.Sprintf("n = %d: want 1 to %d", req.N, maxImagesPerCall)}
	}
	if req.Size == "" {
		req.Size = defaultImageSize
	}
	w, h, ok := parseSize(req.Size)
	if !ok {
		return 0, 0, &badParam{"size", "invalid_size", fmt.Sprintf("size %q: want WIDTHxHEIGHT such as %q, each %d to %d", req.Size, defaultImageSize, minImageSide, maxImageSide)}
	}
	for _, u := range []struct{ param, url string }{{"image_url", req.ImageURL}, {"style_reference_url", req.StyleReferenceURL}} {
		if u.url == "" {
			continue
		}
		if err := checkURL(u.url); err != nil {
			return 0, 0, &badParam{u.param, "invalid_" + u.param, u.param + " " + err.Error()}
		}
	}
	if req.ResponseFormat != "" && req.ResponseFormat != "url" {
		return 0, 0, &badParam{"response_format", "unsupported_response_format", fmt.Sprintf("response_format %q: only \"url\" is supported", req.ResponseFormat)}
	}
	return w, h, nil
}

func parseSize(s string) (w, h int, ok bool) {
	ws, hs, found := strings.Cut(s, "x")
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w < minImageSide || w > maxImageSide || h < minImageSide || h > maxImageSide {
		return 0, 0, false
	}
	return w, h, true
}
