/** The program's version: printed by `--version`, and the one place self-update compares with. */
export const VERSION = "0.1.0";
