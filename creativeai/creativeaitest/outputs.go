package creativeaitest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// ftypBox is the first box of every mp4 served: an ISO base media file of
// brand isom, as ffmpeg writes for H.264 clips.
var ftypBox = []byte{
	0, 0, 0, 28, 'f', 't', 'y', 'p',
	'i', 's', 'o', 'm', 0, 0, 2, 0,
	'i', 's', 'o', 'm', 'i', 's', 'o', '2', 'm', 'p', '4', '1',
}

// minOutputSize holds the ftyp box and an empty mdat box.
const minOutputSize = 28 + 8

// patternSize is the period of the payload bytes.
const patternSize = 4096

// mp4File is a fake mp4 of a given size, produced on demand: an ftyp box,
// then one mdat box whose payload repeats a pseudo-random block derived
// from the generation id. It is deterministic, distinct per generation, and
// costs no memory beyond the block whatever its size.
type mp4File struct {
	size    int64
	header  []byte
	pattern []byte
}

func newMP4File(size int64, seed [32]byte) *mp4File {
	m := &mp4File{size: size, header: append([]byte(nil), ftypBox...)}
	mdat := uint64(size) - uint64(len(ftypBox))
	if mdat <= math.MaxUint32 {
		m.header = binary.BigEndian.AppendUint32(m.header, uint32(mdat))
		m.header = append(m.header, "mdat"...)
	} else {
		// A box over 4 GiB has size 1 and a 64-bit "largesize".
		m.header = binary.BigEndian.AppendUint32(m.header, 1)
		m.header = append(m.header, "mdat"...)
		m.header = binary.BigEndian.AppendUint64(m.header, mdat)
	}
	m.pattern = make([]byte, patternSize)
	rand.NewChaCha8(seed).Read(m.pattern)
	return m
}

// ReadAt implements [io.ReaderAt], so that [io.SectionReader] gives
// [http.ServeContent] the seeking it needs for Range requests.
func (m *mp4File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("creativeaitest: negative offset")
	}
	if off >= m.size {
		return 0, io.EOF
	}
	n := len(p)
	if rest := m.size - off; int64(n) > rest {
		n = int(rest)
	}
	for i := 0; i < n; {
		o := off + int64(i)
		if o < int64(len(m.header)) {
			i += copy(p[i:n], m.header[o:])
			continue
		}
		i += copy(p[i:n], m.pattern[(o-int64(len(m.header)))%patternSize:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// serveOutput serves the files the service would keep on its CDN: the mp4
// of a completed generation and the png of a generated image. No key is
// needed, as for the service's output URLs.
func (s *Server) serveOutput(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	switch {
	case strings.HasSuffix(file, ".mp4"):
		s.serveVideo(w, r, strings.TrimSuffix(file, ".mp4"))
	case strings.HasSuffix(file, ".png"):
		s.serveImage(w, r, strings.TrimSuffix(file, ".png"))
	default:
		writeError(w, http.StatusNotFound, "invalid_request_error", "output_not_found", fmt.Sprintf("no output %q", file), "")
	}
}

func (s *Server) serveVideo(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	g, ok := s.gens[id]
	var done time.Time
	expired := false
	if ok && g.gen.Status == creativeai.StatusCompleted {
		done = g.gen.CompletedAt
		if expired = !g.expiresAt.IsZero() && !s.now().Before(g.expiresAt); expired {
			s.stats.ExpiredDownloads++
		} else if r.Method == http.MethodGet {
			s.stats.Downloads++
		}
	} else {
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "output_not_found", fmt.Sprintf("no completed generation %q", id), "")
		return
	}
	if expired {
		writeError(w, http.StatusForbidden, "invalid_request_error", "output_expired", fmt.Sprintf("the output of %q has expired", id), "")
		return
	}
	m := newMP4File(s.cfg.outputSize, s.digest("output", id))
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("ETag", `"`+id+`"`)
	http.ServeContent(w, r, id+".mp4", done, io.NewSectionReader(m, 0, m.size))
}

func (s *Server) serveImage(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	img, ok := s.images[id]
	if ok && r.Method == http.MethodGet {
		s.stats.Downloads++
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "output_not_found", fmt.Sprintf("no image %q", id), "")
		return
	}
	// A one-colour paletted image encodes in a few milliseconds even at
	// full size; the colour tells images apart.
	d := s.digest("image-colour", id)
	pic := image.NewPaletted(image.Rect(0, 0, img.width, img.height), color.Palette{color.RGBA{d[0], d[1], d[2], 0xff}})
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, pic); err != nil {
		writeError(w, http.StatusInternalServerError, "api_error", "internal_error", "encoding png: "+err.Error(), "")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("ETag", `"`+id+`"`)
	http.ServeContent(w, r, id+".png", time.Time{}, bytes.NewReader(buf.Bytes()))
}
