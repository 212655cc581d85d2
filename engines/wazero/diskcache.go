package wazero

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// manifestName is the file listing the SHA-256 of every cache file.
const manifestName = "MANIFEST"

// diskCache guards wazero's file compilation cache. wazero checks only a
// CRC of the machine code it loads, not the metadata around it, so a file
// this process did not write is trusted only if it matches the manifest
// written when it was created: at open, any file that is unknown or whose
// hash differs is deleted (wazero then recompiles and rewrites it). After
// each compilation, files the process wrote are added to the manifest.
type diskCache struct {
	dir string

	mu     sync.Mutex
	hashes map[string]string // relative path -> hex SHA-256
}

func openDiskCache(dir string) (*diskCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wazero: cache dir: %w", err)
	}
	dc := &diskCache{dir: dir, hashes: map[string]string{}}
	manifest := dc.readManifest()
	err := dc.walk(func(rel, path string) {
		sum, err := hashFile(path)
		if err != nil || manifest[rel] != sum {
			os.Remove(path) // unknown or corrupted: never trusted
			return
		}
		dc.hashes[rel] = sum
	})
	if err != nil {
		return nil, fmt.Errorf("wazero: cache dir: %w", err)
	}
	if len(dc.hashes) != len(manifest) {
		dc.writeManifest() // drop entries whose files are gone
	}
	return dc, nil
}

// record adds the files written since the last call to the manifest.
func (dc *diskCache) record() {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	changed := false
	_ = dc.walk(func(rel, path string) {
		if _, ok := dc.hashes[rel]; ok {
			return
		}
		if sum, err := hashFile(path); err == nil {
			dc.hashes[rel] = sum
			changed = true
		}
	})
	if changed {
		dc.writeManifest()
	}
}

func (dc *diskCache) walk(fn func(rel, path string)) error {
	return filepath.WalkDir(dc.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dc.dir, path)
		if err != nil || rel == manifestName || strings.HasPrefix(filepath.Base(rel), ".manifest-") {
			return nil
		}
		fn(rel, path)
		return nil
	})
}

func (dc *diskCache) readManifest() map[string]string {
	m := map[string]string{}
	f, err := os.Open(filepath.Join(dc.dir, manifestName))
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, rel, ok := strings.Cut(sc.Text(), " ")
		if ok && len(sum) == 64 {
			m[rel] = sum
		}
	}
	return m
}

func (dc *diskCache) writeManifest() {
	rels := make([]string, 0, len(dc.hashes))
	for rel := range dc.hashes {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	var b strings.Builder
	for _, rel := range rels {
		b.WriteString(dc.hashes[rel] + " " + rel + "\n")
	}
	f, err := os.CreateTemp(dc.dir, ".manifest-*")
	if err != nil {
		return
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dc.dir, manifestName))
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
