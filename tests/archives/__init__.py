"""Readers and writers of encrypted archives (7z, WinZip AES zip, AxCrypt), on real bytes."""
