package shopify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// DefaultBulkThreshold is how many videos of one batch must be waiting to
// be attached before PublishBatch attaches them with one bulk operation
// instead of one productUpdate each.
//
// Why 25: per call, attaching costs 10 points a video. A bulk operation
// costs two mutations (staging the variables file, starting the operation)
// and a status poll or two whatever its size, and does not draw on the
// bucket per line, so it is cheaper in points from a handful of videos on;
// but Shopify runs one bulk mutation per store at a time and queues them,
// so a bulk operation adds latency and blocks other batches' bulk
// operations. At 25 videos it saves about 230 points, over four seconds of
// a 50-points-per-second bucket, which outweighs a queue of a few seconds.
const DefaultBulkThreshold = 25

// bulkVariablesMIMEType is the type of a bulk mutation's variables file.
const bulkVariablesMIMEType = "text/jsonl"

// maxBulkResultBytes bounds what is read of a bulk operation's result file:
// a line per video, each well under a kilobyte.
const maxBulkResultBytes = 64 << 20

// WithBulkThreshold sets how many videos of a batch must be waiting to be
// attached before PublishBatch (and so coalesced Publish calls) attaches
// them with one bulk operation; the default is DefaultBulkThreshold. 0
// never uses bulk operations.
func WithBulkThreshold(n int) PublisherOption {
	return func(p *Publisher) { p.bulkThreshold = max(n, 0) }
}

// errBulkUnfinished is the cause given to jobs whose bulk operation had
// not finished when publishing stopped waiting for it.
var errBulkUnfinished = errors.New("shopify: the bulk operation attaching the video had not finished")

// attachBulk attaches the jobs' uploaded videos with Shopify's bulk import:
// a JSONL file of productUpdate variables, one line per job, uploaded
// through stagedUploadsCreate (BULK_MUTATION_VARIABLES);
// bulkOperationRunMutation running bulkAttachVideo once per line; polls of
// the operation until it ends; and its result file, one line per input
// line. Before starting it reads the store's current bulk mutation
// (currentBulkOperation) and waits for one still running, then sets aside
// the jobs whose video it attached (see awaitBulkMutation): an earlier
// attempt whose bulkOperationRunMutation answer was lost left it running.
// It returns the jobs left for the per-call path: all of them when the
// operation could not start (another bulk mutation still running at the
// processing timeout, say), and those whose line failed and whose video is
// not on the product. A line refused with userErrors fails its job as
// productUpdate would. An operation still running at the processing
// timeout is canceled and waited for (bulkCancelTimeout), so that no line
// of it attaches a video after a retry attached one; only one that does
// not stop then leaves its jobs failed with errBulkUnfinished, to be
// retried later.
func (p *Publisher) attachBulk(ctx context.Context, jobs []*batchJob) []*batchJob {
	log := p.logger.With(slog.Int("videos", len(jobs)))
	notStarted := func(err error) []*batchJob {
		log.LogAttrs(ctx, slog.LevelWarn, "shopify: bulk operation not started; attaching one by one", slog.String("error", err.Error()))
		return jobs
	}

	// Shopify runs one bulk mutation per store at a time: when another is
	// running, wait for it, up to the processing timeout, then attach one
	// by one.
	deadline := p.clock.Now().Add(p.processingTimeout)
	var payload bulkRunMutationBulkOperationRunMutationBulkOperationRunMutationPayload
	var path string
	staged := 0 // how many jobs the file at path has lines for
	for attempt := 0; ; attempt++ {
		// The running operation may be an earlier attempt's at these very
		// jobs, whose answer was lost: its lines attach their videos as it
		// runs, so it is waited for, and the jobs it attached set aside,
		// before any line is sent again.
		var err error
		if jobs, err = p.awaitBulkMutation(ctx, jobs, deadline); err != nil {
			return p.bulkUnfinished(jobs, err)
		}
		if len(jobs) == 0 {
			return nil
		}
		if path == "" || staged != len(jobs) {
			// Jobs only leave the list, so its length tells whether it
			// changed since the file was staged.
			if path, err = p.stageBulkVariables(ctx, jobs); err != nil {
				return notStarted(err)
			}
			staged = len(jobs)
		}
		resp, err := bulkRunMutation(ctx, p.client, bulkAttachVideo_Operation, path, "")
		if err != nil {
			// Without an answer the operation may have started: its lines
			// may still attach videos, so none may be attached one by one.
			return p.bulkUnfinished(jobs, err)
		}
		payload = resp.GetBulkOperationRunMutation()
		ues := payload.GetUserErrors()
		if len(ues) == 0 {
			break
		}
		err = fmt.Errorf("bulkOperationRunMutation refused: %s (%s)", ues[0].GetMessage(), ues[0].GetCode())
		now := p.clock.Now()
		if ues[0].GetCode() != "OPERATION_IN_PROGRESS" || !now.Before(deadline) {
			return notStarted(err)
		}
		// Another operation started since the check: wait a poll interval
		// and look at it (awaitBulkMutation) again.
		log.LogAttrs(ctx, slog.LevelDebug, "shopify: bulk operation refused while another runs", slog.String("error", err.Error()))
		if serr := p.clock.Sleep(ctx, min(p.poll.Delay(attempt), deadline.Sub(now))); serr != nil {
			return notStarted(fmt.Errorf("%w (%w)", serr, err))
		}
	}
	id := payload.BulkOperation.GetId()
	if id == "" {
		return notStarted(errors.New("bulkOperationRunMutation answered without an operation"))
	}
	log = log.With(slog.String("bulk_operation", id))
	log.LogAttrs(ctx, slog.LevelInfo, "shopify: bulk operation started")
	p.setBulk(&p.bulkOwn, id)
	defer p.setBulk(&p.bulkOwn, "")

	// Lines it has not run yet would attach their videos later, after a
	// retry attached them again: one still running at the timeout is
	// stopped, and the jobs go on once it has ended, when the lines it ran
	// are on their products for good.
	url, status, err := p.finishBulk(ctx, id)
	if err != nil {
		return p.bulkUnfinished(jobs, err)
	}
	p.setBulk(&p.bulkSeen, id)
	var lines map[int]bulkLine
	if status == "COMPLETED" && url != "" {
		if lines, err = p.bulkResults(ctx, url); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "shopify: reading the bulk result", slog.String("error", err.Error()))
		}
	} else {
		log.LogAttrs(ctx, slog.LevelWarn, "shopify: bulk operation ended without results", slog.String("status", status))
	}

	// The operation has ended: a line with no clear answer either applied
	// or never will, so looking for the marker tells which.
	now := p.clock.Now()
	var rest []*batchJob
	for i, b := range jobs {
		line, ok := lines[i]
		switch {
		case ok && len(line.userErrors) > 0:
			b.fail(&PermanentError{Op: "attach", Err: &UserErrors{Operation: "productUpdate", Errors: line.userErrors}})
			continue
		case ok && line.applied:
			var item *mediaItem
			if line.newest != nil && hasMarker(b.marker)(*line.newest) {
				item = line.newest
			}
			b.attached(item, now)
			continue
		}
		found, _, err := p.findVideo(ctx, b.v, hasMarker(b.marker), scanPageSize)
		switch {
		case err != nil:
			b.fail(err)
		case found != nil:
			b.attached(found, now)
		default:
			rest = append(rest, b)
		}
	}
	log.LogAttrs(ctx, slog.LevelInfo, "shopify: bulk operation done", slog.Int("left_to_attach_one_by_one", len(rest)))
	return rest
}

// bulkUnfinished fails jobs whose bulk operation may still attach their
// videos. The error is not permanent: a later attempt finds the video if
// the operation attached it.
func (p *Publisher) bulkUnfinished(jobs []*batchJob, err error) []*batchJob {
	for _, b := range jobs {
		b.fail(fmt.Errorf("%w: %w", errBulkUnfinished, err))
	}
	return nil
}

// stageBulkVariables writes the jobs' bulkAttachVideo variables as JSONL,
// one line per job in order, uploads the file through stagedUploadsCreate
// (BULK_MUTATION_VARIABLES) and returns its stagedUploadPath.
func (p *Publisher) stageBulkVariables(ctx context.Context, jobs []*batchJob) (string, error) {
	var vars bytes.Buffer
	enc := json.NewEncoder(&vars)
	for _, b := range jobs {
		line := bulkAttachVideoInput{Product: productRef{Id: b.v.ProductID}, Media: []createMediaInput{{
			OriginalSource: b.target.ResourceURL, Alt: p.altText(b), MediaContentType: "VIDEO",
		}}}
		if err := enc.Encode(line); err != nil {
			return "", err
		}
	}
	const filename = "catalogvideo-attach.jsonl"
	targets, err := p.stageInputs(ctx, []stagedUploadInput{{
		Resource: "BULK_MUTATION_VARIABLES", Filename: filename, MimeType: bulkVariablesMIMEType, HttpMethod: "POST",
	}})
	if err != nil {
		return "", err
	}
	path := ""
	for _, prm := range targets[0].Params {
		if prm[0] == "key" {
			path = prm[1]
		}
	}
	if path == "" {
		return "", errors.New("the staged target has no key parameter to give as stagedUploadPath")
	}
	size := int64(vars.Len())
	if err := p.upload(ctx, targets[0], filename, bulkVariablesMIMEType, &video{r: &vars, size: size, close: func() error { return nil }}); err != nil {
		return "", err
	}
	return path, nil
}

// awaitBulkMutation reads the store's current bulk mutation. Unless this
// Publisher saw it end or runs it now, it may be an earlier attempt's at
// these jobs whose bulkOperationRunMutation answer was lost (or another
// process's), whose lines attach their videos as it runs, after the jobs
// were checked for their videos: so it is waited for while it runs (up to
// deadline), and then the jobs are checked again (checkBatch), since its
// lines have attached their videos or never will. It returns the jobs
// still to attach; those whose video is there are reused, as checkBatch
// does. An error (the read failed, or the operation still runs at
// deadline) leaves the jobs to be retried later: attaching them now could
// attach twice. A bulk attach calls it before starting its operation, and
// a batch attached one by one before its first productUpdate.
func (p *Publisher) awaitBulkMutation(ctx context.Context, jobs []*batchJob, deadline time.Time) ([]*batchJob, error) {
	resp, err := currentBulkMutation(ctx, p.client)
	if err != nil {
		return jobs, fmt.Errorf("reading the store's current bulk mutation: %w", err)
	}
	op := resp.GetCurrentBulkOperation()
	p.bulkMu.Lock()
	known := op.GetId() == "" || op.GetId() == p.bulkSeen || op.GetId() == p.bulkOwn
	p.bulkMu.Unlock()
	if known {
		return jobs, nil
	}
	switch op.GetStatus() {
	case "COMPLETED", "FAILED", "CANCELED", "EXPIRED":
	default:
		p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: waiting for the store's running bulk mutation", slog.String("bulk_operation", op.GetId()))
		if _, _, err := p.waitBulk(ctx, op.GetId(), deadline.Sub(p.clock.Now())); err != nil {
			return jobs, fmt.Errorf("waiting for the store's bulk mutation %s: %w", op.GetId(), err)
		}
	}
	p.setBulk(&p.bulkSeen, op.GetId())
	p.checkBatch(ctx, jobs)
	return unattached(jobs), nil
}

// setBulk sets bulkSeen or bulkOwn under bulkMu.
func (p *Publisher) setBulk(field *string, id string) {
	p.bulkMu.Lock()
	defer p.bulkMu.Unlock()
	*field = id
}

// errBulkStillRunning is wrapped by waitBulk's error when the operation
// had not ended within its timeout.
var errBulkStillRunning = errors.New("still running")

// bulkCancelTimeout bounds the wait for a canceled bulk operation to end;
// Shopify says a cancelation takes effect after "a short delay".
const bulkCancelTimeout = 2 * time.Minute

// finishBulk waits for a bulk operation to end, up to the processing
// timeout, and cancels one still running then (see cancelBulk), so that it
// never goes on working behind the caller's back. It returns the
// operation's final status and result URL.
func (p *Publisher) finishBulk(ctx context.Context, id string) (url, status string, err error) {
	url, status, err = p.waitBulk(ctx, id, p.processingTimeout)
	if errors.Is(err, errBulkStillRunning) && ctx.Err() == nil {
		p.logger.LogAttrs(ctx, slog.LevelWarn, "shopify: canceling a bulk operation still running at the processing timeout", slog.String("bulk_operation", id))
		return p.cancelBulk(ctx, id)
	}
	return url, status, err
}

// cancelBulk cancels a running bulk operation and waits, up to
// bulkCancelTimeout, until it has ended (CANCELED, or COMPLETED or FAILED
// if it ended first), returning its status and result URL.
func (p *Publisher) cancelBulk(ctx context.Context, id string) (url, status string, err error) {
	resp, err := bulkCancel(ctx, p.client, id)
	if err != nil {
		return "", "", fmt.Errorf("canceling bulk operation %s: %w", id, err)
	}
	// A refusal says it has ended already (completed, failed); the poll
	// tells which.
	payload := resp.GetBulkOperationCancel()
	if ues := payload.GetUserErrors(); len(ues) > 0 {
		p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: bulk operation not canceled", slog.String("bulk_operation", id), slog.String("reason", ues[0].GetMessage()))
	}
	return p.waitBulk(ctx, id, bulkCancelTimeout)
}

// waitBulk polls a bulk operation, with the publisher's poll intervals,
// until it ends or timeout has passed, and returns its status and result
// URL.
func (p *Publisher) waitBulk(ctx context.Context, id string, timeout time.Duration) (url, status string, err error) {
	deadline := p.clock.Now().Add(timeout)
	for attempt := 0; ; attempt++ {
		now := p.clock.Now()
		if !now.Before(deadline) {
			return "", "", fmt.Errorf("bulk operation %s %w after %v", id, errBulkStillRunning, timeout)
		}
		if err := p.clock.Sleep(ctx, min(p.poll.Delay(attempt), deadline.Sub(now))); err != nil {
			return "", "", err
		}
		resp, err := bulkOperationState(ctx, p.client, id)
		if err != nil {
			return "", "", err
		}
		op, ok := resp.GetNode().(*bulkOperationStateNodeBulkOperation)
		if !ok || op == nil {
			return "", "", fmt.Errorf("bulk operation %s not found", id)
		}
		switch st := op.GetStatus(); st {
		case "COMPLETED", "FAILED", "CANCELED", "EXPIRED":
			return op.GetUrl(), st, nil
		}
	}
}

// bulkLine is what one result line says about its job.
type bulkLine struct {
	applied    bool         // productUpdate answered with the product
	userErrors []*UserError // productUpdate refused the line's input
	newest     *mediaItem   // the product's newest video after the line
}

// bulkResults downloads and parses a bulk operation's result file.
func (p *Publisher) bulkResults(ctx context.Context, url string) (map[int]bulkLine, error) {
	var out map[int]bulkLine
	err := p.readBulkFile(ctx, url, func(r io.Reader) (err error) {
		out, err = parseBulkResults(r)
		return err
	})
	return out, err
}

// readBulkFile downloads a bulk operation's result file (a bulk mutation's
// or a bulk query's) and hands its first maxBulkResultBytes to parse.
func (p *Publisher) readBulkFile(ctx context.Context, url string, parse func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := p.transfer.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", redactURL(url), resp.StatusCode)
	}
	return parse(io.LimitReader(resp.Body, maxBulkResultBytes))
}

// parseBulkResults reads a bulk mutation's result JSONL: one object per
// line with the line's answer under data (or errors) and __lineNumber, the
// zero-based number of the input line. Lines that do not parse or lack a
// line number are skipped: their jobs are checked by marker instead.
func parseBulkResults(r io.Reader) (map[int]bulkLine, error) {
	out := make(map[int]bulkLine)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		var line struct {
			Data       *bulkAttachVideoResponse `json:"data"`
			LineNumber *int                     `json:"__lineNumber"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.LineNumber == nil || *line.LineNumber < 0 || line.Data == nil {
			continue
		}
		payload := line.Data.GetProductUpdate()
		var bl bulkLine
		for _, ue := range payload.GetUserErrors() {
			bl.userErrors = append(bl.userErrors, &UserError{Field: ue.GetField(), Message: ue.GetMessage()})
		}
		if len(bl.userErrors) == 0 && payload.Product.GetId() != "" {
			bl.applied = true
			for _, n := range payload.Product.Media.GetNodes() {
				if n != nil {
					it := newMediaItem(n)
					bl.newest = &it
				}
			}
		}
		out[*line.LineNumber] = bl
	}
	return out, sc.Err()
}

// bulkAttachVideoInput is one line of the variables file: bulkAttachVideo's
// variables.
type bulkAttachVideoInput struct {
	Product productRef         `json:"product"`
	Media   []createMediaInput `json:"media"`
}
