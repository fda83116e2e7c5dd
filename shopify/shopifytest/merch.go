package shopifytest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// reorderJob is a productReorderMedia job: its moves are applied when it
// is first read (job(id:)) in a request after the one that started it, as
// Shopify applies them asynchronously; until then the gallery keeps its
// order.
type reorderJob struct {
	id         string
	product    *product
	moves      [][2]any // media ID, new position
	createdReq int64
	done       bool
}

// metafield is a metafield on a product.
type metafield struct {
	id, namespace, key, value, typ string
}

// metafieldKey matches the characters Shopify allows in a namespace or key.
var metafieldKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// maxMetafieldsPerSet is how many metafields one metafieldsSet takes.
const maxMetafieldsPerSet = 25

// productReorderMedia checks the moves and starts a job that applies them.
// Callers hold s.mu.
func (s *Server) productReorderMedia(args map[string]any) (any, error) {
	refuse := func(code, msg string, field ...string) (any, error) {
		var f any
		if len(field) > 0 {
			f = field
		}
		return fields{name: "ProductReorderMediaPayload", values: map[string]any{
			"job": nil,
			"mediaUserErrors": []object{fields{name: "MediaUserError", values: map[string]any{
				"code": code, "field": f, "message": msg,
			}}},
		}}, nil
	}
	p := s.products[str(args["id"])]
	if p == nil {
		return refuse("PRODUCT_DOES_NOT_EXIST", "Product does not exist", "id")
	}
	raw, _ := args["moves"].([]any)
	if len(raw) == 0 {
		return refuse("INVALID", "At least one move is required.", "moves")
	}
	job := &reorderJob{product: p, createdReq: s.reqSeq}
	for i, r := range raw {
		mv, _ := r.(map[string]any)
		id := str(mv["id"])
		pos, err := strconv.ParseUint(str(mv["newPosition"]), 10, 63)
		if err != nil {
			return refuse("INVALID", "newPosition is not an unsigned integer.", "moves", strconv.Itoa(i), "newPosition")
		}
		if !slices.ContainsFunc(p.media, func(m *media) bool { return m.id == id }) {
			return refuse("MEDIA_DOES_NOT_EXIST_ON_PRODUCT", "Media "+id+" does not exist on the given product.", "moves", strconv.Itoa(i), "id")
		}
		job.moves = append(job.moves, [2]any{id, int(pos)})
	}
	job.id = s.gid("Job")
	s.jobs[job.id] = job
	s.stats.Reorders++
	return fields{name: "ProductReorderMediaPayload", values: map[string]any{
		"job":             jobObj{s, job},
		"mediaUserErrors": []object{},
	}}, nil
}

// finish applies a reorder job's moves once it is read in a later request.
// A media item removed from the product since is skipped. Callers hold
// s.mu.
func (s *Server) finish(j *reorderJob) {
	if j.done || s.reqSeq == j.createdReq {
		return
	}
	j.done = true
	list := j.product.media
	for _, mv := range j.moves {
		id, pos := mv[0].(string), mv[1].(int)
		i := slices.IndexFunc(list, func(m *media) bool { return m.id == id })
		if i < 0 {
			continue
		}
		m := list[i]
		list = slices.Delete(list, i, i+1)
		list = slices.Insert(list, min(pos, len(list)), m)
	}
	j.product.media = list
}

type jobObj struct {
	s *Server
	j *reorderJob
}

func (jobObj) typeName() string { return "Job" }

func (o jobObj) field(name string, _ map[string]any) (any, error) {
	switch name {
	case "id":
		return o.j.id, nil
	case "done":
		o.s.finish(o.j)
		return o.j.done, nil
	}
	return nil, fmt.Errorf("field Job.%s is not implemented by the fake", name)
}

// fileUpdate changes files' alt text and product references. Removing a
// product reference detaches the media from the product and keeps the
// file (node(id:) still finds it); adding one appends it to the product's
// gallery, within the media limit. Callers hold s.mu.
func (s *Server) fileUpdate(args map[string]any) (any, error) {
	raw, _ := args["files"].([]any)
	errs := []object{}
	fail := func(code, msg string, field ...string) {
		errs = append(errs, fields{name: "FilesUserError", values: map[string]any{"code": code, "field": field, "message": msg}})
	}
	for i, r := range raw {
		in, _ := r.(map[string]any)
		idx := strconv.Itoa(i)
		m := s.mediaByID[str(in["id"])]
		if m == nil {
			fail("FILE_DOES_NOT_EXIST", "File id "+str(in["id"])+" does not exist.", "files", idx, "id")
			continue
		}
		adds, _ := in["referencesToAdd"].([]any)
		removes, _ := in["referencesToRemove"].([]any)
		var add []*product
		bad := false
		for _, id := range slices.Concat(adds, removes) {
			if s.products[str(id)] == nil {
				fail("INVALID", "Product "+str(id)+" does not exist.", "files", idx, "referencesToAdd")
				bad = true
			}
		}
		for _, id := range adds {
			p := s.products[str(id)]
			if p != nil && !slices.Contains(p.media, m) {
				if len(p.media) >= s.cfg.mediaLimit {
					fail("INVALID", fmt.Sprintf("Exceeded the limit of %d media per product.", s.cfg.mediaLimit), "files", idx, "referencesToAdd")
					bad = true
				}
				add = append(add, p)
			}
		}
		if bad {
			continue
		}
		if alt, ok := in["alt"]; ok && alt != nil {
			m.alt = str(alt)
		}
		for _, id := range removes {
			if p := s.products[str(id)]; p != nil {
				if i := slices.Index(p.media, m); i >= 0 {
					p.media = slices.Delete(p.media, i, i+1)
					s.stats.MediaRemoved++
				}
			}
		}
		for _, p := range add {
			p.media = append(p.media, m)
			s.stats.MediaReferenced++
		}
	}
	return fields{name: "FileUpdatePayload", values: map[string]any{"userErrors": errs}}, nil
}

// metafieldsSet creates or updates product metafields. Like Shopify, it
// applies all of them or none. Callers hold s.mu.
func (s *Server) metafieldsSet(args map[string]any) (any, error) {
	raw, _ := args["metafields"].([]any)
	errs := []object{}
	fail := func(code, msg string, field ...string) {
		errs = append(errs, fields{name: "MetafieldsSetUserError", values: map[string]any{"code": code, "field": field, "message": msg}})
	}
	if len(raw) > maxMetafieldsPerSet {
		fail("INVALID", fmt.Sprintf("Exceeded the maximum metafields input limit of %d.", maxMetafieldsPerSet), "metafields")
	}
	type set struct {
		p  *product
		mf metafield
	}
	var sets []set
	for i, r := range raw {
		in, _ := r.(map[string]any)
		idx := strconv.Itoa(i)
		p := s.products[str(in["ownerId"])]
		ns, key, value, typ := str(in["namespace"]), str(in["key"]), str(in["value"]), str(in["type"])
		if ns == "" {
			ns = "app--shopifytest"
		}
		switch {
		case p == nil:
			fail("INVALID", "Owner does not exist or is not a product.", "metafields", idx, "ownerId")
		case len(ns) < 3 || len(ns) > 255 || !metafieldKey.MatchString(ns):
			fail("INVALID", "Namespace must be 3-255 alphanumeric, hyphen or underscore characters.", "metafields", idx, "namespace")
		case len(key) < 2 || len(key) > 64 || !metafieldKey.MatchString(key):
			fail("INVALID", "Key must be 2-64 alphanumeric, hyphen or underscore characters.", "metafields", idx, "key")
		case strings.TrimSpace(value) == "":
			fail("BLANK", "Value can't be blank.", "metafields", idx, "value")
		case typ == "":
			fail("BLANK", "Type can't be blank when there is no definition.", "metafields", idx, "type")
		case typ == "json" && !json.Valid([]byte(value)):
			fail("INVALID_VALUE", "Value is invalid JSON.", "metafields", idx, "value")
		default:
			sets = append(sets, set{p, metafield{namespace: ns, key: key, value: value, typ: typ}})
		}
	}
	if len(errs) > 0 {
		return fields{name: "MetafieldsSetPayload", values: map[string]any{"metafields": nil, "userErrors": errs}}, nil
	}
	out := make([]object, 0, len(sets))
	for _, st := range sets {
		k := st.mf.namespace + "." + st.mf.key
		if old := st.p.metafields[k]; old != nil {
			st.mf.id = old.id
		} else {
			st.mf.id = s.gid("Metafield")
		}
		if st.p.metafields == nil {
			st.p.metafields = make(map[string]*metafield)
		}
		mf := st.mf
		st.p.metafields[k] = &mf
		out = append(out, metafieldObj(&mf))
	}
	return fields{name: "MetafieldsSetPayload", values: map[string]any{"metafields": out, "userErrors": errs}}, nil
}

func metafieldObj(m *metafield) object {
	return fields{name: "Metafield", values: map[string]any{
		"id": m.id, "namespace": m.namespace, "key": m.key, "value": m.value, "type": m.typ,
	}}
}

// Metafield returns the value of a product's metafield and whether it is
// set.
func (s *Server) Metafield(productID, namespace, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.products[productID]
	if p == nil {
		return "", false
	}
	m := p.metafields[namespace+"."+key]
	if m == nil {
		return "", false
	}
	return m.value, true
}

// AddVideoMedia attaches a READY video with the given file name and alt
// text to a product, as an earlier publish (or the merchant) would have,
// and returns its ID.
func (s *Server) AddVideoMedia(productID, filename, alt string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.products[productID]
	if p == nil {
		panic("shopifytest: AddVideoMedia: no product " + productID)
	}
	m := s.newMedia("Video", "VIDEO")
	m.filename, m.alt, m.status = filename, alt, "READY"
	p.media = append(p.media, m)
	return m.id
}
