package shopifytest

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Product is a product to add to the fake store.
type Product struct {
	// Title is the product's title.
	Title string
	// Handle is the product's URL handle; derived from Title when empty.
	Handle string
	// Variants are the product's variants.
	Variants []Variant
	// Images is how many images the product already has (they count toward
	// the media limit).
	Images int
}

// Variant is a product variant to add to the fake store.
type Variant struct {
	// SKU is the variant's SKU.
	SKU string
	// Title is the variant's title ("Default Title" when empty).
	Title string
}

// Media is a snapshot of one media item of a product.
type Media struct {
	// ID is the media's global ID, such as gid://shopify/Video/1004.
	ID string
	// Type is the GraphQL type: Video, MediaImage, ExternalVideo or Model3d.
	Type string
	// ContentType is VIDEO, IMAGE, EXTERNAL_VIDEO or MODEL_3D.
	ContentType string
	// Alt is the alternative text.
	Alt string
	// Filename is the uploaded file's name (videos only).
	Filename string
	// Status is UPLOADED, PROCESSING, READY or FAILED.
	Status string
	// Bytes is the size of the uploaded file (videos only).
	Bytes int64
	// ErrorCode is the code of the media error of a FAILED item.
	ErrorCode string
}

type product struct {
	id       string
	title    string
	handle   string
	variants []*variant
	media    []*media
	// metafields are keyed by namespace + "." + key.
	metafields map[string]*metafield
}

type variant struct {
	id      string
	sku     string
	title   string
	product *product
}

type media struct {
	id          string
	num         int64
	typ         string
	contentType string
	alt         string
	filename    string
	status      string
	bytes       int64
	errCode     string
	errMessage  string
	// Processing: reads counts the requests that read the status after the
	// one that created it; failCode is what processing will end with.
	createdReq  int64
	lastReadReq int64
	reads       int
	createdAt   time.Time
	failCode    string
	failMessage string
}

// upload is a staged upload target and what was sent to it.
type upload struct {
	id          string
	resource    string
	filename    string
	mimeType    string
	method      string
	size        int64
	params      [][2]string
	resourceURL string
	state       uploadState
	received    int64
	content     []byte // a BULK_MUTATION_VARIABLES file, kept to be run
}

type uploadState int

const (
	uploadPending uploadState = iota
	uploadReceiving
	uploadDone
)

var nonHandle = regexp.MustCompile(`[^a-z0-9]+`)

// AddProduct adds a product with its variants and returns its global ID.
func (s *Server) AddProduct(p Product) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := &product{id: s.gid("Product"), title: p.Title, handle: p.Handle}
	if pr.handle == "" {
		pr.handle = strings.Trim(nonHandle.ReplaceAllString(strings.ToLower(p.Title), "-"), "-")
	}
	for _, v := range p.Variants {
		title := v.Title
		if title == "" {
			title = "Default Title"
		}
		vr := &variant{id: s.gid("ProductVariant"), sku: v.SKU, title: title, product: pr}
		pr.variants = append(pr.variants, vr)
		s.variants = append(s.variants, vr)
	}
	for i := range p.Images {
		m := s.newMedia("MediaImage", "IMAGE")
		m.alt = fmt.Sprintf("%s image %d", p.Title, i+1)
		m.status = "READY"
		pr.media = append(pr.media, m)
	}
	s.products[pr.id] = pr
	s.order = append(s.order, pr)
	return pr.id
}

// Media returns a snapshot of the product's media in gallery order, or nil
// for an unknown product.
func (s *Server) Media(productID string) []Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceDue()
	p := s.products[productID]
	if p == nil {
		return nil
	}
	out := make([]Media, len(p.media))
	for i, m := range p.media {
		out[i] = Media{ID: m.id, Type: m.typ, ContentType: m.contentType, Alt: m.alt,
			Filename: m.filename, Status: m.status, Bytes: m.bytes, ErrorCode: m.errCode}
	}
	return out
}

// gid allocates a global ID of the given type. Callers hold s.mu.
func (s *Server) gid(typ string) string {
	s.nextNum++
	return fmt.Sprintf("gid://shopify/%s/%d", typ, s.nextNum)
}

// newMedia allocates a media item. Callers hold s.mu.
func (s *Server) newMedia(typ, contentType string) *media {
	id := s.gid(typ)
	m := &media{id: id, num: s.nextNum, typ: typ, contentType: contentType,
		createdReq: s.reqSeq, createdAt: s.now()}
	s.mediaByID[id] = m
	return m
}

// advance moves a video through processing as it is read. Callers hold
// s.mu.
func (s *Server) advance(m *media) {
	if m.status != "PROCESSING" && m.status != "UPLOADED" {
		return
	}
	if s.reqSeq != m.createdReq && s.reqSeq != m.lastReadReq {
		m.lastReadReq = s.reqSeq
		m.reads++
	}
	done := m.reads >= s.cfg.readyPolls
	if s.cfg.readyAfter > 0 {
		done = s.now().Sub(m.createdAt) >= s.cfg.readyAfter
	}
	if !done {
		return
	}
	if m.failCode != "" {
		m.status, m.errCode, m.errMessage = "FAILED", m.failCode, m.failMessage
		return
	}
	m.status = "READY"
}
