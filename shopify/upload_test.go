package shopify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUploadStreamsParametersThenFile(t *testing.T) {
	var got struct {
		contentLength    int64
		transferEncoding []string
		parts            []string
		file             []byte
		fileType         string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.contentLength = r.ContentLength
		got.transferEncoding = r.TransferEncoding
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "multipart/form-data" {
			http.Error(w, "not multipart", 400)
			return
		}
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			b, _ := io.ReadAll(p)
			if p.FormName() == "file" {
				got.file, got.fileType = b, p.Header.Get("Content-Type")
				got.parts = append(got.parts, "file="+p.FileName())
				continue
			}
			got.parts = append(got.parts, p.FormName()+"="+string(b))
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()

	c, err := NewClient("", "tok", WithEndpoint(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPublisher(c)
	content := bytes.Repeat([]byte("0123456789"), 10_000)
	target := stagedTarget{URL: srv.URL, Params: [][2]string{{"key", "tmp/1/a.mp4"}, {"policy", "p"}, {"x-goog-signature", "s"}}}
	err = p.upload(context.Background(), target, "a.mp4", videoMIMEType, &video{r: bytes.NewReader(content), size: int64(len(content))})
	if err != nil {
		t.Fatal(err)
	}
	if want := "key=tmp/1/a.mp4 policy=p x-goog-signature=s file=a.mp4"; strings.Join(got.parts, " ") != want {
		t.Errorf("parts = %v, want %s: parameters in order, then the file", got.parts, want)
	}
	if !bytes.Equal(got.file, content) || got.fileType != "video/mp4" {
		t.Errorf("file: %d bytes of type %q, want %d bytes of video/mp4", len(got.file), got.fileType, len(content))
	}
	if got.contentLength <= int64(len(content)) || len(got.transferEncoding) != 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %v: want an exact length, not chunked", got.contentLength, got.transferEncoding)
	}
}

func TestExactReader(t *testing.T) {
	r := &exactReader{r: strings.NewReader("abcdef"), n: 4}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "abcd" {
		t.Errorf("ReadAll = %q, %v; want the first 4 bytes", b, err)
	}
	r = &exactReader{r: strings.NewReader("ab"), n: 4}
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short source: err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestUploadFailsOnTruncatedSource(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c, _ := NewClient("", "tok", WithEndpoint(srv.URL))
	p := NewPublisher(c)
	err := p.upload(context.Background(), stagedTarget{URL: srv.URL}, "a.mp4", videoMIMEType, &video{r: strings.NewReader("short"), size: 100})
	if err == nil || IsPermanent(err) {
		t.Errorf("err = %v, want a retryable error for a source that ended early", err)
	}
}
