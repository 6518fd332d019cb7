/* Built, never run: its link is the check (see CMakeLists.txt). */
int main(void)
{
	return 0;
}
