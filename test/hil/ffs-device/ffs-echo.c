/*
 * ffs-echo: the dextio FunctionFS test device used by test/hil.
 *
 * Usage: ffs-echo [--exit-on-unbind] [--verbose] FFS_MOUNT_DIR
 *
 * Writes its descriptors and strings to FFS_MOUNT_DIR/ep0, then serves:
 *
 *   Interface 0, class 0xff (vendor), subclass 0, protocol 0, string "dextio echo"
 *     bulk IN  (ep1 file, address 0x81 in the descriptors; the UDC may renumber)
 *     bulk OUT (ep2 file, address 0x02 in the descriptors; the UDC may renumber)
 *     max packet 64 (full speed), 512 (high speed), 1024 (SuperSpeed, burst 0)
 *   The host must read endpoint addresses from the descriptors.
 *
 * Control requests (vendor, recipient device or interface):
 *   bmRequestType 0xC0/0xC1, bRequest 0x01 IDENTIFY: returns the ASCII string
 *     "dextio-ffs-echo 1" (17 bytes, no NUL; truncated to wLength).
 *   Anything else is stalled.
 *
 * Data protocol on the bulk endpoints. The host writes an 8-byte command
 * header on OUT, little-endian:
 *   byte 0-1  magic 'D' 'X' (0x44 0x58)
 *   byte 2    command
 *   byte 3    0
 *   byte 4-7  length N (u32), at most 16 MiB
 * Commands:
 *   0x01 ECHO   N payload bytes follow on OUT (in the same transfer or later
 *               ones); once all N have arrived the device sends them back on
 *               IN. N = 0 sends a zero-length packet.
 *   0x02 SOURCE the device sends N bytes on IN, byte i = i % 251.
 *   0x03 SINK   N bytes follow on OUT and are discarded.
 *   0x04 STALL  the device halts its IN endpoint; the host's next IN transfer
 *               stalls until the host sends CLEAR_FEATURE(ENDPOINT_HALT).
 * IN data is sent in requests that are multiples of 1024 bytes plus a final
 * remainder and never followed by a zero-length packet: the host reads
 * exactly N bytes (a longer read of a multiple-of-max-packet N waits).
 * A header with a bad magic, command or length halts the OUT endpoint
 * (cleared by the host with CLEAR_FEATURE); the parser then expects a header.
 *
 * The device keeps serving across UDC unbind/rebind (surprise-removal tests);
 * with --exit-on-unbind it exits with status 0 on FUNCTIONFS_UNBIND. SIGTERM
 * and SIGINT end it with status 0.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LE16(x) ((__u16)(x))
#define LE32(x) ((__u32)(x))
#else
#define LE16(x) __builtin_bswap16(x)
#define LE32(x) __builtin_bswap32(x)
#endif

#define IDENTIFY_REQ 0x01
#define IDENTIFY_STR "dextio-ffs-echo 1"
#define CMD_ECHO 0x01
#define CMD_SOURCE 0x02
#define CMD_SINK 0x03
#define CMD_STALL 0x04
#define MAX_LEN (16u << 20)
#define IO_CHUNK (64u << 10) /* multiple of every max packet size */

static int verbose;
static int exit_on_unbind;
static volatile sig_atomic_t stop;
static int ep0_fd = -1, in_fd = -1, out_fd = -1;

static void logmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ffs-echo: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------------------------------------------------------------- descriptors */

struct ep_pair {
	struct usb_interface_descriptor intf;
	struct usb_endpoint_descriptor_no_audio in;
	struct usb_endpoint_descriptor_no_audio out;
} __attribute__((packed));

struct ep_pair_ss {
	struct usb_interface_descriptor intf;
	struct usb_endpoint_descriptor_no_audio in;
	struct usb_ss_ep_comp_descriptor in_comp;
	struct usb_endpoint_descriptor_no_audio out;
	struct usb_ss_ep_comp_descriptor out_comp;
} __attribute__((packed));

static const struct {
	struct usb_functionfs_descs_head_v2 header;
	__le32 fs_count, hs_count, ss_count;
	struct ep_pair fs, hs;
	struct ep_pair_ss ss;
} __attribute__((packed)) descriptors = {
	.header = {
		.magic = LE32(FUNCTIONFS_DESCRIPTORS_MAGIC_V2),
		.length = LE32(sizeof(descriptors)),
		.flags = LE32(FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC |
				 FUNCTIONFS_HAS_SS_DESC | FUNCTIONFS_ALL_CTRL_RECIP),
	},
	.fs_count = LE32(3),
	.hs_count = LE32(3),
	.ss_count = LE32(5),
#define INTF { .bLength = sizeof(struct usb_interface_descriptor), \
	.bDescriptorType = USB_DT_INTERFACE, .bNumEndpoints = 2, \
	.bInterfaceClass = USB_CLASS_VENDOR_SPEC, .iInterface = 1 }
#define EP(addr, mps) { .bLength = USB_DT_ENDPOINT_SIZE, \
	.bDescriptorType = USB_DT_ENDPOINT, .bEndpointAddress = (addr), \
	.bmAttributes = USB_ENDPOINT_XFER_BULK, .wMaxPacketSize = LE16(mps) }
#define COMP { .bLength = USB_DT_SS_EP_COMP_SIZE, .bDescriptorType = USB_DT_SS_ENDPOINT_COMP }
	.fs = { INTF, EP(1 | USB_DIR_IN, 64), EP(2 | USB_DIR_OUT, 64) },
	.hs = { INTF, EP(1 | USB_DIR_IN, 512), EP(2 | USB_DIR_OUT, 512) },
	.ss = { INTF, EP(1 | USB_DIR_IN, 1024), COMP, EP(2 | USB_DIR_OUT, 1024), COMP },
};

#define STR_INTERFACE "dextio echo"
static const struct {
	struct usb_functionfs_strings_head header;
	struct {
		__le16 code;
		const char str1[sizeof(STR_INTERFACE)];
	} __attribute__((packed)) lang0;
} __attribute__((packed)) strings = {
	.header = {
		.magic = LE32(FUNCTIONFS_STRINGS_MAGIC),
		.length = LE32(sizeof(strings)),
		.str_count = LE32(1),
		.lang_count = LE32(1),
	},
	.lang0 = { LE16(0x0409), STR_INTERFACE },
};

/* ---------------------------------------------------------------- data path */

static void pause_briefly(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

/* Writes len bytes on IN in chunks of IO_CHUNK; 0 on success. */
static int send_in(const uint8_t *buf, size_t len)
{
	if (len == 0) {
		if (write(in_fd, buf, 0) < 0) {
			logmsg("IN zero-length write: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	while (len > 0) {
		size_t n = len < IO_CHUNK ? len : IO_CHUNK;
		ssize_t w = write(in_fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			logmsg("IN write: %s", strerror(errno));
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int send_pattern(uint32_t len)
{
	static uint8_t chunk[IO_CHUNK + 251];
	static int ready;
	uint32_t off = 0;
	if (!ready) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (uint8_t)(i % 251);
		ready = 1;
	}
	if (len == 0)
		return send_in(chunk, 0);
	while (off < len) {
		uint32_t n = len - off < IO_CHUNK ? len - off : IO_CHUNK;
		if (send_in(chunk + off % 251, n) < 0)
			return -1;
		off += n;
	}
	return 0;
}

static void halt_endpoint(int fd, const char *name)
{
	uint8_t dummy[8] = { 0 };
	ssize_t r;
	/* FunctionFS halts an endpoint on I/O in the wrong direction. */
	if (fd == in_fd)
		r = read(fd, dummy, sizeof(dummy));
	else
		r = write(fd, dummy, sizeof(dummy));
	if (r < 0 && errno != EBADMSG)
		logmsg("halting %s: %s", name, strerror(errno));
	else if (verbose)
		logmsg("%s halted", name);
}

enum pstate { P_HEADER, P_ECHO, P_SINK };

static void *data_thread(void *arg)
{
	static uint8_t rbuf[IO_CHUNK];
	uint8_t hdr[8];
	size_t hdr_have = 0;
	enum pstate st = P_HEADER;
	uint8_t *echo = NULL;
	uint32_t want = 0, have = 0;
	(void)arg;

	for (;;) {
		ssize_t n = read(out_fd, rbuf, sizeof(rbuf));
		if (n < 0) {
			if (errno != EINTR && verbose)
				logmsg("OUT read: %s (resetting)", strerror(errno));
			st = P_HEADER;
			hdr_have = 0;
			pause_briefly(); /* disabled/unbound: the next read blocks until enabled */
			continue;
		}
		size_t pos = 0;
		while (pos < (size_t)n) {
			size_t left = (size_t)n - pos;
			if (st == P_HEADER) {
				size_t take = 8 - hdr_have < left ? 8 - hdr_have : left;
				memcpy(hdr + hdr_have, rbuf + pos, take);
				hdr_have += take;
				pos += take;
				if (hdr_have < 8)
					break;
				hdr_have = 0;
				uint8_t cmd = hdr[2];
				uint32_t len = (uint32_t)hdr[4] | (uint32_t)hdr[5] << 8 |
					       (uint32_t)hdr[6] << 16 | (uint32_t)hdr[7] << 24;
				if (hdr[0] != 'D' || hdr[1] != 'X' || hdr[3] != 0 || len > MAX_LEN ||
				    cmd < CMD_ECHO || cmd > CMD_STALL) {
					logmsg("bad header %02x %02x %02x %02x len %u: halting OUT",
					       hdr[0], hdr[1], hdr[2], hdr[3], len);
					halt_endpoint(out_fd, "OUT");
					pos = (size_t)n; /* drop the rest of this transfer */
					break;
				}
				if (verbose)
					logmsg("command 0x%02x length %u", cmd, len);
				switch (cmd) {
				case CMD_ECHO:
					if (len == 0) {
						send_in(rbuf, 0);
						break;
					}
					free(echo);
					echo = malloc(len);
					if (!echo) {
						logmsg("out of memory for %u bytes", len);
						halt_endpoint(out_fd, "OUT");
						pos = (size_t)n;
						break;
					}
					want = len;
					have = 0;
					st = P_ECHO;
					break;
				case CMD_SOURCE:
					send_pattern(len);
					break;
				case CMD_SINK:
					want = len;
					have = 0;
					st = len ? P_SINK : P_HEADER;
					break;
				case CMD_STALL:
					halt_endpoint(in_fd, "IN");
					break;
				}
			} else {
				size_t take = want - have < left ? want - have : left;
				if (st == P_ECHO)
					memcpy(echo + have, rbuf + pos, take);
				have += (uint32_t)take;
				pos += take;
				if (have == want) {
					if (st == P_ECHO) {
						send_in(echo, want);
						free(echo);
						echo = NULL;
					}
					st = P_HEADER;
				}
			}
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- ep0 */

static const char *event_name(int type)
{
	static const char *names[] = { "BIND", "UNBIND", "ENABLE", "DISABLE", "SETUP", "SUSPEND", "RESUME" };
	return type >= 0 && type <= FUNCTIONFS_RESUME ? names[type] : "?";
}

static void handle_setup(const struct usb_ctrlrequest *s)
{
	uint16_t wlength = le16toh(s->wLength);
	int in = s->bRequestType & USB_DIR_IN;
	uint8_t type = s->bRequestType & USB_TYPE_MASK;
	uint8_t recip = s->bRequestType & USB_RECIP_MASK;

	if (verbose)
		logmsg("setup %02x %02x %04x %04x %u", s->bRequestType, s->bRequest,
		       le16toh(s->wValue), le16toh(s->wIndex), wlength);
	if (in && type == USB_TYPE_VENDOR && s->bRequest == IDENTIFY_REQ &&
	    (recip == USB_RECIP_DEVICE || recip == USB_RECIP_INTERFACE)) {
		size_t n = strlen(IDENTIFY_STR);
		if (n > wlength)
			n = wlength;
		if (write(ep0_fd, IDENTIFY_STR, n) < 0)
			logmsg("identify reply: %s", strerror(errno));
		return;
	}
	/* Stall: I/O on ep0 in the direction opposite to the data stage. */
	if (in) {
		if (read(ep0_fd, NULL, 0) < 0 && errno != EL2HLT && verbose)
			logmsg("stall (in): %s", strerror(errno));
	} else {
		if (write(ep0_fd, NULL, 0) < 0 && errno != EL2HLT && verbose)
			logmsg("stall (out): %s", strerror(errno));
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int open_ep(const char *dir, const char *name, int flags)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, flags);
	if (fd < 0) {
		logmsg("open %s: %s", path, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--exit-on-unbind"))
			exit_on_unbind = 1;
		else if (!strcmp(argv[i], "--verbose"))
			verbose = 1;
		else if (argv[i][0] != '-' && !dir)
			dir = argv[i];
		else {
			fprintf(stderr, "usage: %s [--exit-on-unbind] [--verbose] FFS_MOUNT_DIR\n", argv[0]);
			return 2;
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: %s [--exit-on-unbind] [--verbose] FFS_MOUNT_DIR\n", argv[0]);
		return 2;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);

	ep0_fd = open_ep(dir, "ep0", O_RDWR);
	if (write(ep0_fd, &descriptors, sizeof(descriptors)) != (ssize_t)sizeof(descriptors)) {
		logmsg("writing descriptors: %s", strerror(errno));
		return 1;
	}
	if (write(ep0_fd, &strings, sizeof(strings)) != (ssize_t)sizeof(strings)) {
		logmsg("writing strings: %s", strerror(errno));
		return 1;
	}
	in_fd = open_ep(dir, "ep1", O_RDWR);
	out_fd = open_ep(dir, "ep2", O_RDWR);

	/* Signals go to the ep0 thread only, and interrupt its read. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_t tid;
	if (pthread_create(&tid, NULL, data_thread, NULL) != 0) {
		logmsg("pthread_create failed");
		return 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	logmsg("ready on %s (%s)", dir, IDENTIFY_STR);

	struct usb_functionfs_event ev[4];
	while (!stop) {
		ssize_t n = read(ep0_fd, ev, sizeof(ev));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			logmsg("ep0 read: %s", strerror(errno));
			return 1;
		}
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++) {
			if (verbose || ev[i].type != FUNCTIONFS_SETUP)
				logmsg("event %s", event_name(ev[i].type));
			if (ev[i].type == FUNCTIONFS_SETUP)
				handle_setup(&ev[i].u.setup);
			else if (ev[i].type == FUNCTIONFS_UNBIND && exit_on_unbind)
				stop = 1;
		}
	}
	logmsg("exiting");
	return 0;
}
