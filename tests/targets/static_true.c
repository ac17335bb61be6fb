/* static_true - a statically linked program that opens and closes a
 * socket and exits 0: the shim cannot be preloaded into it. */
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0)
		close(fd);
	return 0;
}
