/* Host runtime: availability macros are not needed off Apple platforms. */
