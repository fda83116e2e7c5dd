//go:build race

package blobarchive_test

const raceEnabled = true
