/**
 * Intel 8042 keyboard controller as used on PC/AT and PS/2 systems, and the
 * PS/2 keyboard and mouse protocols: names follow IBM's "Keyboard and
 * Auxiliary Device Controller" chapter of the PS/2 Hardware Interface
 * Technical Reference (status register, controller command byte, commands).
 */

/** Data port (read: output buffer; write: input buffer, to the keyboard or a command parameter). */
export const I8042_DATA_PORT = 0x60;
/** Status register (read) / command port (write). */
export const I8042_COMMAND_PORT = 0x64;

/** Status: output buffer full. */
export const STR_OBF = 0x01;
/** Status: input buffer full (never set: writes are taken at once). */
export const STR_IBF = 0x02;
/** Status: system flag, the controller command byte's SYS bit. */
export const STR_SYS = 0x04;
/** Status: the last write was to the command port (A2). */
export const STR_CMDDAT = 0x08;
/** Status: keyboard not inhibited by the key lock. */
export const STR_KEYLOCK = 0x10;
/** Status: the output buffer holds auxiliary (mouse) data. */
export const STR_AUXDATA = 0x20;

/** Command byte: keyboard interrupt (IRQ 1) enable. */
export const CTR_KBDINT = 0x01;
/** Command byte: auxiliary interrupt (IRQ 12) enable. */
export const CTR_AUXINT = 0x02;
/** Command byte: system flag. */
export const CTR_SYS = 0x04;
/** Command byte: keyboard interface (clock) disabled. */
export const CTR_KBDDIS = 0x10;
/** Command byte: auxiliary interface (clock) disabled. */
export const CTR_AUXDIS = 0x20;
/** Command byte: translate keyboard scan codes to set 1. */
export const CTR_XLATE = 0x40;

/** Output port: system reset (active low). */
export const OUT_RESET = 0x01;
/** Output port: A20 gate. */
export const OUT_A20 = 0x02;
/** Output port: output buffer full with keyboard data (IRQ 1). */
export const OUT_OBF_KBD = 0x10;
/** Output port: output buffer full with auxiliary data (IRQ 12). */
export const OUT_OBF_AUX = 0x20;

/** Controller command: read controller RAM byte 0..31 (0x20 reads the command byte). */
export const CMD_READ_RAM = 0x20;
/** Controller command: write controller RAM byte 0..31 (0x60 writes the command byte). */
export const CMD_WRITE_RAM = 0x60;
/** Controller command: disable the auxiliary interface. */
export const CMD_AUX_DISABLE = 0xa7;
/** Controller command: enable the auxiliary interface. */
export const CMD_AUX_ENABLE = 0xa8;
/** Controller command: auxiliary interface test (0x00 = no error). */
export const CMD_AUX_TEST = 0xa9;
/** Controller command: controller self-test (0x55 = passed). */
export const CMD_SELF_TEST = 0xaa;
/** Controller command: keyboard interface test (0x00 = no error). */
export const CMD_KBD_TEST = 0xab;
/** Controller command: disable the keyboard interface. */
export const CMD_KBD_DISABLE = 0xad;
/** Controller command: enable the keyboard interface. */
export const CMD_KBD_ENABLE = 0xae;
/** Controller command: read the input port. */
export const CMD_READ_INPUT = 0xc0;
/** Controller command: read the output port. */
export const CMD_READ_OUTPUT = 0xd0;
/** Controller command: write the output port (next data byte). */
export const CMD_WRITE_OUTPUT = 0xd1;
/** Controller command: write the keyboard output buffer (next data byte, as if from the keyboard). */
export const CMD_KBD_LOOP = 0xd2;
/** Controller command: write the auxiliary output buffer (next data byte, as if from the mouse). */
export const CMD_AUX_LOOP = 0xd3;
/** Controller command: send the next data byte to the auxiliary device. */
export const CMD_AUX_SEND = 0xd4;
/** Controller command: A20 off (legacy). */
export const CMD_A20_DISABLE = 0xdd;
/** Controller command: A20 on (legacy). */
export const CMD_A20_ENABLE = 0xdf;
/** Controller command: read test inputs. */
export const CMD_READ_TEST = 0xe0;
/** Controller commands 0xF0..0xFF pulse output port bits 3..0 low where the command's bit is 0. */
export const CMD_PULSE = 0xf0;

/** Controller self-test passed. */
export const RET_SELF_TEST_OK = 0x55;

/** PS/2 device reply: acknowledge. */
export const PS2_ACK = 0xfa;
/** PS/2 device reply: resend (command not understood). */
export const PS2_RESEND = 0xfe;
/** PS/2 device reply: basic assurance test passed. */
export const PS2_BAT_OK = 0xaa;

/** Keyboard command: set LEDs (one parameter byte). */
export const KBD_SETLEDS = 0xed;
/** Keyboard command: echo (replies 0xEE). */
export const KBD_ECHO = 0xee;
/** Keyboard command: get/set scan code set (one parameter byte). */
export const KBD_SCANSET = 0xf0;
/** Keyboard command: identify (replies ACK, 0xAB, 0x83). */
export const KBD_GETID = 0xf2;
/** Keyboard command: set typematic rate/delay (one parameter byte). */
export const KBD_SETREP = 0xf3;
/** Keyboard command: enable scanning. */
export const KBD_ENABLE = 0xf4;
/** Keyboard command: disable scanning and restore defaults. */
export const KBD_RESET_DIS = 0xf5;
/** Keyboard command: restore defaults. */
export const KBD_RESET_DEF = 0xf6;
/** Keyboard command: resend the last byte. */
export const KBD_RESEND = 0xfe;
/** Keyboard command: reset and self-test (replies ACK, 0xAA). */
export const KBD_RESET = 0xff;
/** Keyboard identification, first byte. */
export const KBD_ID0 = 0xab;
/** Keyboard identification, second byte (MF2); 0x41 when the controller translates. */
export const KBD_ID1 = 0x83;
/** The second ID byte as the 8042's set 2 -> set 1 translation delivers it. */
export const KBD_ID1_XLATED = 0x41;

/** Mouse command: scaling 1:1. */
export const AUX_SETSCALE11 = 0xe6;
/** Mouse command: scaling 2:1. */
export const AUX_SETSCALE21 = 0xe7;
/** Mouse command: set resolution (one parameter byte). */
export const AUX_SETRES = 0xe8;
/** Mouse command: status request (replies ACK and three bytes). */
export const AUX_GETINFO = 0xe9;
/** Mouse command: stream mode. */
export const AUX_SETSTREAM = 0xea;
/** Mouse command: read data (replies ACK and a three-byte packet). */
export const AUX_READ_DATA = 0xeb;
/** Mouse command: leave wrap mode. */
export const AUX_RESET_WRAP = 0xec;
/** Mouse command: enter wrap (echo) mode. */
export const AUX_SET_WRAP = 0xee;
/** Mouse command: remote mode. */
export const AUX_SETPOLL = 0xf0;
/** Mouse command: identify (replies ACK, 0x00 for a standard PS/2 mouse). */
export const AUX_GETID = 0xf2;
/** Mouse command: set sample rate (one parameter byte). */
export const AUX_SETRATE = 0xf3;
/** Mouse command: enable data reporting. */
export const AUX_ENABLE = 0xf4;
/** Mouse command: disable data reporting. */
export const AUX_DISABLE = 0xf5;
/** Mouse command: set defaults. */
export const AUX_RESET_DEF = 0xf6;
/** Mouse command: resend. */
export const AUX_RESEND = 0xfe;
/** Mouse command: reset (replies ACK, 0xAA, 0x00). */
export const AUX_RESET = 0xff;
