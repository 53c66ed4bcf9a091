/* Host runtime: os_log, printed to stderr when DEXTIO_HOST_LOG is set in the environment. */
#ifndef _OS_LOG_H_HOST
#define _OS_LOG_H_HOST

#ifdef __cplusplus
extern "C" {
#endif
typedef struct os_log_s *os_log_t;
void dextio_host_os_log(os_log_t log, const char *format, ...) __attribute__((format(printf, 2, 3)));
#ifdef __cplusplus
}
#endif

#define OS_LOG_DEFAULT ((os_log_t)0)
#define os_log(log, format, ...) dextio_host_os_log(log, format, ##__VA_ARGS__)
#define os_log_error(log, format, ...) dextio_host_os_log(log, format, ##__VA_ARGS__)
#define os_log_debug(log, format, ...) dextio_host_os_log(log, format, ##__VA_ARGS__)

#endif
