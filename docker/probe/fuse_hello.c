// A minimal read-only FUSE filesystem with one file, /hello, used only by
// docker/probe-engine.sh to check that a container can mount FUSE.
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
#include <string.h>
#include <sys/stat.h>

static const char kText[] = "hello from fuse\n";

static int GetAttr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  (void)fi;
  memset(st, 0, sizeof *st);
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (strcmp(path, "/hello") == 0) {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = sizeof kText - 1;
    return 0;
  }
  return -ENOENT;
}

static int ReadDir(const char* path, void* buf, fuse_fill_dir_t fill, off_t off,
                   struct fuse_file_info* fi, enum fuse_readdir_flags flags) {
  (void)off, (void)fi, (void)flags;
  if (strcmp(path, "/") != 0) return -ENOENT;
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  fill(buf, "hello", NULL, 0, 0);
  return 0;
}

static int Read(const char* path, char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  (void)fi;
  if (strcmp(path, "/hello") != 0) return -ENOENT;
  size_t len = sizeof kText - 1;
  if ((size_t)off >= len) return 0;
  if (off + size > len) size = len - off;
  memcpy(buf, kText + off, size);
  return (int)size;
}

static const struct fuse_operations kOps = {.getattr = GetAttr, .readdir = ReadDir, .read = Read};

int main(int argc, char* argv[]) { return fuse_main(argc, argv, &kOps, NULL); }
