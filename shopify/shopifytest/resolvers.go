package shopifytest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
)

// maxPageSize is the largest first Shopify accepts on a connection.
const maxPageSize = 250

// maxStagedVideoBytes is the largest video stagedUploadsCreate accepts.
const maxStagedVideoBytes = 1 << 30

type queryRoot struct{ s *Server }

func (queryRoot) typeName() string { return "QueryRoot" }

func (q queryRoot) field(name string, args map[string]any) (any, error) {
	switch name {
	case "product":
		p := q.s.products[str(args["id"])]
		if p == nil {
			return nil, nil
		}
		return productObj{q.s, p}, nil
	case "productVariants":
		return q.productVariants(args)
	case "job":
		if j := q.s.jobs[str(args["id"])]; j != nil {
			return jobObj{q.s, j}, nil
		}
		return nil, nil
	case "currentBulkOperation":
		// The argument defaults to QUERY in the schema, so it is always set.
		if b := q.s.latestBulk[str(args["type"])]; b != nil {
			return bulkObj{q.s, b}, nil
		}
		return nil, nil
	case "node":
		if o := q.s.node(str(args["id"])); o != nil {
			return o, nil
		}
		return nil, nil
	case "nodes":
		ids, _ := args["ids"].([]any)
		if len(ids) > maxPageSize {
			return nil, fmt.Errorf("nodes: at most %d IDs may be given, got %d", maxPageSize, len(ids))
		}
		out := make([]object, len(ids))
		for i, id := range ids {
			out[i] = q.s.node(str(id))
		}
		return out, nil
	}
	return nil, fmt.Errorf("field QueryRoot.%s is not implemented by the fake", name)
}

// productVariants answers sku:"…" OR sku:"…" searches. Like Shopify's
// search, matching ignores case, so callers must compare SKUs exactly.
func (q queryRoot) productVariants(args map[string]any) (any, error) {
	items, err := q.s.matchVariants(args)
	if err != nil {
		return nil, err
	}
	return page("ProductVariantConnection", items, args)
}

// matchVariants returns the variants a productVariants query matches, in
// store order. Callers hold s.mu.
func (s *Server) matchVariants(args map[string]any) ([]object, error) {
	var match func(*variant) bool
	if qs, ok := args["query"].(string); ok && strings.TrimSpace(qs) != "" {
		terms, _, err := parseSearch(qs)
		if err != nil {
			return nil, err
		}
		for _, t := range terms {
			if t.field != "sku" {
				return nil, fmt.Errorf("productVariants: search field %q is not supported by the fake (sku)", t.field)
			}
		}
		match = func(v *variant) bool {
			return slices.ContainsFunc(terms, func(t term) bool { return strings.EqualFold(t.value, v.sku) })
		}
	}
	var items []object
	for _, v := range s.variants {
		if match == nil || match(v) {
			items = append(items, variantObj{s, v})
		}
	}
	return items, nil
}

// page cuts a connection's page out of items by first and after.
func page(typ string, items []object, args map[string]any) (any, error) {
	v, ok := args["first"]
	if !ok || v == nil {
		return nil, fmt.Errorf("%s: you must provide first", typ)
	}
	first := toInt(v)
	if first < 0 || first > maxPageSize {
		return nil, fmt.Errorf("%s: first must be between 0 and %d, got %d", typ, maxPageSize, first)
	}
	start := 0
	if after, ok := args["after"].(string); ok && after != "" {
		n, err := decodeCursor(after)
		if err != nil || n < 0 || n > len(items) {
			return nil, fmt.Errorf("%s: invalid cursor %q", typ, after)
		}
		start = n
	}
	end := min(len(items), start+first)
	return connection(typ, items[start:end], start, end < len(items)), nil
}

// connection is a page of a connection of type typ: the items, which start
// at offset start of the whole list, as nodes and as edges (type typ with
// Edge for Connection) with their cursors.
func connection(typ string, items []object, start int, hasNext bool) fields {
	edges := make([]object, len(items))
	for i, it := range items {
		edges[i] = fields{name: strings.TrimSuffix(typ, "Connection") + "Edge", values: map[string]any{
			"node": it, "cursor": encodeCursor(start + i + 1),
		}}
	}
	var endCursor any
	if len(items) > 0 {
		endCursor = encodeCursor(start + len(items))
	}
	return fields{name: typ, values: map[string]any{
		"nodes": items,
		"edges": edges,
		"pageInfo": fields{name: "PageInfo", values: map[string]any{
			"hasNextPage": hasNext,
			"endCursor":   endCursor,
		}},
	}}
}

func encodeCursor(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("i:" + strconv.Itoa(n)))
}

func decodeCursor(c string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "i:") {
		return 0, fmt.Errorf("bad cursor")
	}
	return strconv.Atoi(string(b[2:]))
}

type productObj struct {
	s *Server
	p *product
}

func (productObj) typeName() string { return "Product" }

func (o productObj) field(name string, args map[string]any) (any, error) {
	switch name {
	case "id":
		return o.p.id, nil
	case "title":
		return o.p.title, nil
	case "handle":
		return o.p.handle, nil
	case "mediaCount":
		return fields{name: "Count", values: map[string]any{"count": len(o.p.media), "precision": "EXACT"}}, nil
	case "media":
		return o.media(args)
	case "metafield":
		ns := str(args["namespace"])
		if ns == "" {
			ns = "app--shopifytest"
		}
		if m := o.p.metafields[ns+"."+str(args["key"])]; m != nil {
			return metafieldObj(m), nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("field Product.%s is not implemented by the fake", name)
}

func (o productObj) media(args map[string]any) (any, error) {
	var mediaType string
	var id int64
	if q, ok := args["query"].(string); ok && strings.TrimSpace(q) != "" {
		var err error
		if mediaType, id, err = parseMediaQuery(q); err != nil {
			return nil, err
		}
	}
	var list []*media
	for _, m := range o.p.media {
		if (mediaType == "" || m.contentType == mediaType) && (id == 0 || m.num == id) {
			list = append(list, m)
		}
	}
	// Media are kept in gallery order (POSITION, the default); ID sorts
	// by when they were created.
	if str(args["sortKey"]) == "ID" {
		list = slices.Clone(list)
		slices.SortFunc(list, func(a, b *media) int { return cmp.Compare(a.num, b.num) })
	}
	if rev, _ := args["reverse"].(bool); rev {
		slices.Reverse(list)
	}
	items := make([]object, len(list))
	for i, m := range list {
		items[i] = mediaObj{o.s, m}
	}
	return page("MediaConnection", items, args)
}

type variantObj struct {
	s *Server
	v *variant
}

func (variantObj) typeName() string { return "ProductVariant" }

func (o variantObj) field(name string, _ map[string]any) (any, error) {
	switch name {
	case "id":
		return o.v.id, nil
	case "sku":
		if o.v.sku == "" {
			return nil, nil
		}
		return o.v.sku, nil
	case "title":
		return o.v.title, nil
	case "product":
		return productObj{o.s, o.v.product}, nil
	}
	return nil, fmt.Errorf("field ProductVariant.%s is not implemented by the fake", name)
}

type mediaObj struct {
	s *Server
	m *media
}

func (o mediaObj) typeName() string { return o.m.typ }

func (o mediaObj) field(name string, _ map[string]any) (any, error) {
	switch name {
	case "id":
		return o.m.id, nil
	case "alt":
		if o.m.alt == "" {
			return nil, nil
		}
		return o.m.alt, nil
	case "mediaContentType":
		return o.m.contentType, nil
	case "status":
		o.s.advance(o.m)
		return o.m.status, nil
	case "mediaErrors":
		o.s.advance(o.m)
		if o.m.errCode == "" {
			return []object{}, nil
		}
		return []object{fields{name: "MediaError", values: map[string]any{
			"code": o.m.errCode, "details": nil, "message": o.m.errMessage,
		}}}, nil
	case "filename":
		return o.m.filename, nil
	}
	return nil, fmt.Errorf("field %s.%s is not implemented by the fake", o.m.typ, name)
}

type mutationRoot struct{ s *Server }

func (mutationRoot) typeName() string { return "Mutation" }

func (m mutationRoot) field(name string, args map[string]any) (any, error) {
	switch name {
	case "stagedUploadsCreate":
		return m.stagedUploadsCreate(args)
	case "productUpdate":
		return m.productUpdate(args)
	case "bulkOperationRunMutation":
		return m.s.bulkOperationRunMutation(args)
	case "bulkOperationCancel":
		return m.s.bulkOperationCancel(args)
	case "bulkOperationRunQuery":
		return m.s.bulkOperationRunQuery(args)
	case "productReorderMedia":
		return m.s.productReorderMedia(args)
	case "fileUpdate":
		return m.s.fileUpdate(args)
	case "metafieldsSet":
		return m.s.metafieldsSet(args)
	}
	return nil, fmt.Errorf("field Mutation.%s is not implemented by the fake", name)
}

func userError(msg string, field ...string) object {
	var f any
	if len(field) > 0 {
		f = field
	}
	return fields{name: "UserError", values: map[string]any{"field": f, "message": msg}}
}

// stagedUploadsCreate hands out targets on this server: POST targets with
// form parameters to echo (like the signed policy fields of cloud storage)
// or PUT targets.
func (m mutationRoot) stagedUploadsCreate(args map[string]any) (any, error) {
	inputs, _ := args["input"].([]any)
	var targets []object
	var errs []object
	for i, raw := range inputs {
		in, _ := raw.(map[string]any)
		idx := strconv.Itoa(i)
		resource, filename, mimeType := str(in["resource"]), str(in["filename"]), str(in["mimeType"])
		method := str(in["httpMethod"])
		if method == "" {
			method = "PUT"
		}
		var size int64 = -1
		if fs := str(in["fileSize"]); fs != "" {
			n, err := strconv.ParseUint(fs, 10, 63)
			if err != nil {
				errs = append(errs, userError("File size is not an unsigned integer.", "input", idx, "fileSize"))
				continue
			}
			size = int64(n)
		}
		switch {
		case (resource == "VIDEO" || resource == "MODEL_3D") && size < 0:
			errs = append(errs, userError("File size is required for "+resource+" uploads.", "input", idx, "fileSize"))
			continue
		case resource == "VIDEO" && size > maxStagedVideoBytes:
			errs = append(errs, userError("Video must be 1 GB or smaller.", "input", idx, "fileSize"))
			continue
		case resource == "VIDEO" && !strings.HasPrefix(mimeType, "video/"):
			errs = append(errs, userError("MIME type "+mimeType+" is not a video type.", "input", idx, "mimeType"))
			continue
		case strings.TrimSpace(filename) == "":
			errs = append(errs, userError("Filename can't be blank.", "input", idx, "filename"))
			continue
		}
		s := m.s
		s.nextNum++
		id := strconv.FormatInt(s.nextNum, 16)
		u := &upload{id: id, resource: resource, filename: path.Base(filename), mimeType: mimeType, method: method, size: size,
			resourceURL: s.URL + "/staged-resources/" + id + "/" + url.PathEscape(path.Base(filename))}
		if method == "POST" {
			u.params = [][2]string{
				{"Content-Type", mimeType},
				{"success_action_status", "201"},
				{"acl", "private"},
				{"key", "tmp/" + id + "/" + path.Base(filename)},
				{"x-goog-algorithm", "GOOG4-RSA-SHA256"},
				{"x-goog-credential", "shopifytest/" + id},
				{"policy", base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"content-length-range":[%d,%d]}`, size, size)))},
				{"x-goog-signature", fmt.Sprintf("%064x", s.nextNum*2654435761)},
			}
		} else {
			u.params = [][2]string{{"content_type", mimeType}, {"acl", "private"}}
		}
		s.uploads[id] = u
		params := make([]object, len(u.params))
		for j, p := range u.params {
			params[j] = fields{name: "StagedUploadParameter", values: map[string]any{"name": p[0], "value": p[1]}}
		}
		targets = append(targets, fields{name: "StagedMediaUploadTarget", values: map[string]any{
			"url": s.URL + "/staged-uploads/" + id, "resourceUrl": u.resourceURL, "parameters": params,
		}})
	}
	if errs == nil {
		errs = []object{}
	}
	return fields{name: "StagedUploadsCreatePayload", values: map[string]any{"stagedTargets": targets, "userErrors": errs}}, nil
}

// productUpdate appends media to a product. Each media item is checked on
// its own, as Shopify does: valid items are added and invalid ones reported
// in userErrors.
func (m mutationRoot) productUpdate(args map[string]any) (any, error) {
	s := m.s
	in, _ := args["product"].(map[string]any)
	p := s.products[str(in["id"])]
	if p == nil {
		return fields{name: "ProductUpdatePayload", values: map[string]any{
			"product": nil, "userErrors": []object{userError("Product does not exist", "id")},
		}}, nil
	}
	errs := []object{}
	items, _ := args["media"].([]any)
	for i, raw := range items {
		mi, _ := raw.(map[string]any)
		idx := strconv.Itoa(i)
		source, alt, kind := str(mi["originalSource"]), str(mi["alt"]), str(mi["mediaContentType"])
		if kind == "EXTERNAL_VIDEO" {
			s.stats.ExternalVideoRequests++
		}
		if len(p.media) >= s.cfg.mediaLimit {
			errs = append(errs, userError(fmt.Sprintf("Exceeded the limit of %d media per product.", s.cfg.mediaLimit), "media", idx))
			continue
		}
		var md *media
		switch kind {
		case "EXTERNAL_VIDEO":
			if !isYouTubeOrVimeo(source) {
				s.stats.ExternalVideoRejected++
				errs = append(errs, userError("Invalid external video URL. External videos must be hosted on YouTube or Vimeo.", "media", idx, "originalSource"))
				continue
			}
			md = s.newMedia("ExternalVideo", kind)
			md.status = "READY"
		case "VIDEO":
			md = s.newMedia("Video", kind)
			md.status = "PROCESSING"
			md.failCode, md.failMessage = s.cfg.failCode, s.cfg.failMessage
			if u := s.uploadFor(source); u != nil {
				md.filename, md.bytes = u.filename, u.received
			} else {
				// Shopify accepts the input and fails while fetching the file.
				md.failCode, md.failMessage = "GENERIC_FILE_DOWNLOAD_FAILURE", "The file could not be downloaded from "+source
				md.filename = path.Base(source)
			}
			if md.failCode != "" && md.failMessage == "" {
				md.failMessage = "The video could not be processed."
			}
		case "IMAGE":
			md = s.newMedia("MediaImage", kind)
			md.status = "READY"
		case "MODEL_3D":
			md = s.newMedia("Model3d", kind)
			md.status = "READY"
		default:
			errs = append(errs, userError("Media content type is invalid.", "media", idx, "mediaContentType"))
			continue
		}
		md.alt = alt
		p.media = append(p.media, md)
		s.stats.MediaCreated++
	}
	return fields{name: "ProductUpdatePayload", values: map[string]any{"product": productObj{s, p}, "userErrors": errs}}, nil
}

// uploadFor returns the completed upload a resourceUrl names, if any.
func (s *Server) uploadFor(resourceURL string) *upload {
	for _, u := range s.uploads {
		if u.resourceURL == resourceURL && u.state == uploadDone {
			return u
		}
	}
	return nil
}

// isYouTubeOrVimeo reports whether an EXTERNAL_VIDEO source is on one of the
// two hosts Shopify accepts (MediaHost is YOUTUBE | VIMEO).
func isYouTubeOrVimeo(source string) bool {
	u, err := url.Parse(source)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return false
	}
	h := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	switch h {
	case "youtube.com", "m.youtube.com", "youtu.be", "vimeo.com", "player.vimeo.com":
		return true
	}
	return false
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// node returns the object a global ID names, or nil. Callers hold s.mu.
func (s *Server) node(id string) object {
	if p := s.products[id]; p != nil {
		return productObj{s, p}
	}
	if m := s.mediaByID[id]; m != nil {
		return mediaObj{s, m}
	}
	if op := s.bulkOps[id]; op != nil {
		return bulkObj{s, op}
	}
	return nil
}
