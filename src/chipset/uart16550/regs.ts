/**
 * National Semiconductor PC16550D UART register and bit names (PC16550D
 * datasheet, "Universal Asynchronous Receiver/Transmitter with FIFOs",
 * tables II-VI). Offsets are from the port base.
 */

/** Receiver Buffer (read) / Transmitter Holding (write); Divisor Latch LS when DLAB. */
export const RBR = 0;
/** Interrupt Enable; Divisor Latch MS when DLAB. */
export const IER = 1;
/** Interrupt Identification (read) / FIFO Control (write). */
export const IIR = 2;
/** Line Control. */
export const LCR = 3;
/** Modem Control. */
export const MCR = 4;
/** Line Status. */
export const LSR = 5;
/** Modem Status. */
export const MSR = 6;
/** Scratch. */
export const SCR = 7;

/** IER: Enable Received Data Available Interrupt (and character timeout). */
export const IER_ERBFI = 0x01;
/** IER: Enable Transmitter Holding Register Empty Interrupt. */
export const IER_ETBEI = 0x02;
/** IER: Enable Receiver Line Status Interrupt. */
export const IER_ELSI = 0x04;
/** IER: Enable Modem Status Interrupt. */
export const IER_EDSSI = 0x08;
/** IER bits that exist on a 16550A; the upper four read as 0 (Linux's probe checks). */
export const IER_MASK = 0x0f;

/** IIR: no interrupt pending (bit 0 set). */
export const IIR_NO_INT = 0x01;
/** IIR identification: receiver line status (highest priority). */
export const IIR_RLS = 0x06;
/** IIR identification: received data available. */
export const IIR_RDA = 0x04;
/** IIR identification: character timeout (FIFO mode). */
export const IIR_CTI = 0x0c;
/** IIR identification: transmitter holding register empty. */
export const IIR_THRE = 0x02;
/** IIR identification: modem status (lowest priority). */
export const IIR_MSI = 0x00;
/** IIR bits 7:6, both set while the FIFOs are enabled. */
export const IIR_FIFO_ENABLED = 0xc0;

/** FCR: FIFO enable. */
export const FCR_ENABLE = 0x01;
/** FCR: RCVR FIFO reset (self-clearing). */
export const FCR_RX_RESET = 0x02;
/** FCR: XMIT FIFO reset (self-clearing). */
export const FCR_TX_RESET = 0x04;
/** FCR: DMA mode select. */
export const FCR_DMA = 0x08;
/** FCR bits 7:6: receiver trigger level. */
export const FCR_TRIGGER_SHIFT = 6;
/** RX trigger levels for FCR bits 7:6 = 00, 01, 10, 11. */
export const RX_TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** LCR: Divisor Latch Access Bit. */
export const LCR_DLAB = 0x80;
/** LCR: set break. */
export const LCR_BREAK = 0x40;
/** LCR: parity enable. */
export const LCR_PEN = 0x08;
/** LCR: number of stop bits (1.5 or 2). */
export const LCR_STB = 0x04;
/** LCR bits 1:0: word length minus 5. */
export const LCR_WLS = 0x03;

/** MCR: Data Terminal Ready. */
export const MCR_DTR = 0x01;
/** MCR: Request To Send. */
export const MCR_RTS = 0x02;
/** MCR: OUT1. */
export const MCR_OUT1 = 0x04;
/** MCR: OUT2, which gates the interrupt onto the ISA bus on PCs. */
export const MCR_OUT2 = 0x08;
/** MCR: loopback (diagnostic) mode. */
export const MCR_LOOP = 0x10;
/** MCR bits that exist on a 16550A. */
export const MCR_MASK = 0x1f;

/** LSR: Data Ready. */
export const LSR_DR = 0x01;
/** LSR: Overrun Error. */
export const LSR_OE = 0x02;
/** LSR: Parity Error. */
export const LSR_PE = 0x04;
/** LSR: Framing Error. */
export const LSR_FE = 0x08;
/** LSR: Break Interrupt. */
export const LSR_BI = 0x10;
/** LSR: Transmitter Holding Register Empty. */
export const LSR_THRE = 0x20;
/** LSR: Transmitter Empty. */
export const LSR_TEMT = 0x40;
/** LSR: error in RCVR FIFO. */
export const LSR_FIFO_ERR = 0x80;
/** LSR bits that raise a receiver line status interrupt and clear on read. */
export const LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

/** MSR: Delta Clear To Send. */
export const MSR_DCTS = 0x01;
/** MSR: Delta Data Set Ready. */
export const MSR_DDSR = 0x02;
/** MSR: Trailing Edge Ring Indicator. */
export const MSR_TERI = 0x04;
/** MSR: Delta Data Carrier Detect. */
export const MSR_DDCD = 0x08;
/** MSR: Clear To Send. */
export const MSR_CTS = 0x10;
/** MSR: Data Set Ready. */
export const MSR_DSR = 0x20;
/** MSR: Ring Indicator. */
export const MSR_RI = 0x40;
/** MSR: Data Carrier Detect. */
export const MSR_DCD = 0x80;
/** MSR delta bits (lower nibble). */
export const MSR_DELTAS = 0x0f;

/** Clock of the PC's UARTs (1.8432 MHz); baud = UART_CLOCK / (16 * divisor). */
export const UART_CLOCK = 1_843_200;
/** Depth of the 16550's receive and transmit FIFOs. */
export const FIFO_DEPTH = 16;

/** The PC's standard serial ports: I/O base and ISA interrupt (GSI). */
export const COM_PORTS = {
  com1: { base: 0x3f8, gsi: 4 },
  com2: { base: 0x2f8, gsi: 3 },
  com3: { base: 0x3e8, gsi: 4 },
  com4: { base: 0x2e8, gsi: 3 },
} as const;
