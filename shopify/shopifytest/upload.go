package shopifytest

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// serveUpload receives a file sent to a staged upload target, the way the
// cloud storage behind Shopify's targets does: a multipart POST whose form
// fields are the target's parameters and whose last part is the file (or a
// PUT of the file). The file is counted as it streams in and never held in
// memory. A size different from the fileSize given to stagedUploadsCreate
// is refused, as a signed policy's content-length-range refuses it.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.uploads[r.PathValue("id")]
	f := s.takeFault(FaultUpload)
	switch {
	case f != nil:
	case u == nil:
		s.mu.Unlock()
		uploadError(w, http.StatusNotFound, "NoSuchUpload", "unknown staged upload target")
		return
	case u.state != uploadPending:
		s.mu.Unlock()
		uploadError(w, http.StatusBadRequest, "InvalidRequest", "the target has already been used")
		return
	default:
		u.state = uploadReceiving
	}
	s.mu.Unlock()
	if f != nil {
		writeFault(w, f)
		return
	}

	n, code, err := receive(r, u)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		u.state = uploadPending
		uploadError(w, code, "InvalidArgument", err.Error())
		return
	}
	u.state, u.received = uploadDone, n
	s.stats.Uploads++
	s.stats.UploadedBytes += n
	w.WriteHeader(http.StatusCreated)
}

// receive reads an upload's file and checks it against the target. It
// returns the file's size, or an HTTP status and the reason for refusing.
func receive(r *http.Request, u *upload) (int64, int, error) {
	if r.Method != u.method {
		return 0, http.StatusMethodNotAllowed, fmt.Errorf("the target takes %s, not %s", u.method, r.Method)
	}
	var file io.Reader
	if r.Method == http.MethodPut {
		file = r.Body
	} else {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			return 0, http.StatusBadRequest, errors.New("the body is not multipart/form-data")
		}
		mr, err := r.MultipartReader()
		if err != nil {
			return 0, http.StatusBadRequest, err
		}
		got := make(map[string]string)
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return 0, http.StatusBadRequest, errors.New("the form has no file part")
			}
			if err != nil {
				return 0, http.StatusBadRequest, fmt.Errorf("reading the form: %w", err)
			}
			if part.FormName() == "file" {
				file = part
				break
			}
			v, err := io.ReadAll(io.LimitReader(part, 64<<10))
			if err != nil {
				return 0, http.StatusBadRequest, fmt.Errorf("reading field %q: %w", part.FormName(), err)
			}
			got[part.FormName()] = string(v)
		}
		for _, p := range u.params {
			if v, ok := got[p[0]]; !ok {
				return 0, http.StatusForbidden, fmt.Errorf("parameter %q is missing or comes after the file", p[0])
			} else if v != p[1] {
				return 0, http.StatusForbidden, fmt.Errorf("parameter %q does not match the policy", p[0])
			}
		}
	}
	if u.resource == bulkVariablesResource {
		b, err := io.ReadAll(io.LimitReader(file, maxBulkFileBytes+1))
		switch {
		case err != nil:
			return 0, http.StatusBadRequest, fmt.Errorf("reading the file: %w", err)
		case len(b) > maxBulkFileBytes:
			return 0, http.StatusBadRequest, fmt.Errorf("EntityTooLarge: a variables file may hold %d bytes", maxBulkFileBytes)
		}
		u.content = b
		return int64(len(b)), 0, nil
	}
	n, err := io.Copy(io.Discard, io.LimitReader(file, u.size+1))
	if err != nil {
		return 0, http.StatusBadRequest, fmt.Errorf("reading the file: %w", err)
	}
	switch {
	case n > u.size:
		return 0, http.StatusBadRequest, fmt.Errorf("EntityTooLarge: the file is larger than the %d bytes staged", u.size)
	case n < u.size:
		return 0, http.StatusBadRequest, fmt.Errorf("EntityTooSmall: the file has %d bytes, %d were staged", n, u.size)
	}
	return n, 0, nil
}

func uploadError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
}

// Video is a video file for the server to serve, standing in for a render
// service's output_url.
type Video struct {
	// Size is the file's size in bytes. The bytes are generated as they are
	// sent, so a large Size costs no memory.
	Size int64
	// NoContentLength sends the body chunked, without a Content-Length
	// header, so the publisher has to spool it.
	NoContentLength bool
	// Status, when set, is answered instead of 200 and the file (404 for an
	// expired URL, say).
	Status int
}

type sourceVideo struct {
	Video
	name string
}

// AddVideo makes the server serve a video and returns its URL.
func (s *Server) AddVideo(v Video) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextNum++
	name := "render-" + strconv.FormatInt(s.nextNum, 10) + ".mp4"
	s.videos[name] = &sourceVideo{Video: v, name: name}
	return s.URL + "/videos/" + name
}

func (s *Server) serveVideo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	v := s.videos[r.PathValue("name")]
	f := s.takeFault(FaultVideo)
	s.mu.Unlock()
	switch {
	case f != nil:
		writeFault(w, f)
		return
	case v == nil:
		http.NotFound(w, r)
		return
	case v.Status != 0 && v.Status != http.StatusOK:
		http.Error(w, http.StatusText(v.Status), v.Status)
		return
	}
	w.Header().Set("Content-Type", "video/mp4")
	if v.NoContentLength {
		// Flushing the header first makes net/http send the body chunked.
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
	} else {
		w.Header().Set("Content-Length", strconv.FormatInt(v.Size, 10))
		w.WriteHeader(http.StatusOK)
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.CopyN(w, &mp4Bytes{}, v.Size)
}

// mp4Bytes generates an endless stream that starts like an MP4 file and
// continues with a repeating pattern.
type mp4Bytes struct{ off int64 }

var (
	mp4Header = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	// mp4Fill repeats with a period of 256 bytes, so any offset's byte is
	// mp4Fill[off%256] and a read is a few copies.
	mp4Fill = func() []byte {
		b := make([]byte, 512)
		for i := range b {
			b[i] = byte(i * 31)
		}
		return b
	}()
)

func (m *mp4Bytes) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		var c int
		if m.off < int64(len(mp4Header)) {
			c = copy(b[n:], mp4Header[m.off:])
		} else {
			start := m.off % 256
			c = copy(b[n:], mp4Fill[start:start+256])
		}
		n += c
		m.off += int64(c)
	}
	return n, nil
}
