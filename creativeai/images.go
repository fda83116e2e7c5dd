package creativeai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

const imageGenerationsPath = "v1/images/generations"

// maxImagesPerRequest is the published upper bound of ImageRequest.N.
const maxImagesPerRequest = 4

// ImageService creates still images (/v1/images/generations), such as the
// refreshed product still of a per-SKU offer.
type ImageService service

// ImageRequest is the body of an image generation. The endpoint is
// OpenAI-compatible, plus fields that anchor the product's identity.
type ImageRequest struct {
	// Model is "gpt-image-1", "dall-e-3", "seedream-3", ...
	Model string `json:"model,omitempty"`
	// Prompt describes the image; it is required.
	Prompt string `json:"prompt"`
	// Size is "1024x1024" and the like.
	Size string `json:"size,omitempty"`
	// N is the number of images, 1 to 4 (0 lets the service default to 1).
	N int `json:"n,omitempty"`
	// ImageURL is a product photo that keeps the product recognisable.
	ImageURL string `json:"image_url,omitempty"`
	// StyleReferenceURL is an image whose look the result should follow.
	StyleReferenceURL string `json:"style_reference_url,omitempty"`
	// CameraAngle asks for a viewpoint, such as "three-quarter".
	CameraAngle string `json:"camera_angle,omitempty"`
}

func (r *ImageRequest) validate() error {
	switch {
	case r == nil:
		return errNilRequest
	case strings.TrimSpace(r.Prompt) == "":
		return errors.New("creativeai: ImageRequest.Prompt is required")
	case r.N < 0 || r.N > maxImagesPerRequest:
		return fmt.Errorf("creativeai: ImageRequest.N is %d, want 1 to %d (or 0 for the default)", r.N, maxImagesPerRequest)
	}
	return nil
}

// ImageResult is the answer to an image generation.
type ImageResult struct {
	// Created is when the images were made, in Unix seconds.
	Created int64 `json:"created"`
	// Data holds one entry per image.
	Data []Image `json:"data"`
}

// Image is one generated image.
type Image struct {
	// URL is where the image can be downloaded; like a video's output URL it
	// may expire, so copy it out promptly.
	URL string `json:"url"`
	// RevisedPrompt is the prompt the model actually used, when it rewrote
	// the one given.
	RevisedPrompt string `json:"revised_prompt,omitempty"`
}

// Create generates images (POST /v1/images/generations). The result has at
// least one image with a URL; the first is at result.Data[0].URL.
//
// As with video generations, pass [WithIdempotencyKey] to make the call safe
// to retry after a connection error or 5xx.
func (s *ImageService) Create(ctx context.Context, req *ImageRequest, opts ...RequestOption) (*ImageResult, *Response, error) {
	if err := req.validate(); err != nil {
		return nil, nil, err
	}
	res := new(ImageResult)
	resp, err := s.client.call(ctx, http.MethodPost, imageGenerationsPath, nil, req, res, opts)
	if err != nil {
		return nil, resp, err
	}
	if len(res.Data) == 0 || res.Data[0].URL == "" {
		return nil, resp, fmt.Errorf("creativeai: POST /%s: %d response has no image URL", imageGenerationsPath, resp.StatusCode)
	}
	return res, resp, nil
}
