// Drives a dacline simulator module in ROM download mode with Espressif's
// esptool-js, through a small shim that gives esptool-js a Web Serial port
// over the pseudo-terminal. Used by ../../download_interop_test.go.
//
//   node interop.mjs PTY ADDRESS FILE
//
// Prints one line "RESULT {json}" (esptool-js logs traces too): the chip esptool-js detected, the MD5 of the file
// (after esptool-js's 4-byte padding) and the MD5 the chip's loader
// reported for the written region, as esptool-js returned it.
import fs from "node:fs";
import tty from "node:tty";
import crypto from "node:crypto";
import { ESPLoader, Transport } from "esptool-js";

// PtySerialPort is the subset of the Web Serial SerialPort esptool-js uses.
class PtySerialPort {
  constructor(path) {
    this.path = path;
    this.readable = null;
    this.writable = null;
  }
  getInfo() {
    return {}; // no USB IDs: esptool-js then picks the classic reset (we pass no_reset)
  }
  async open() {
    const flags = fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK;
    this.rfd = fs.openSync(this.path, flags);
    this.wfd = fs.openSync(this.path, flags);
    this.in = new tty.ReadStream(this.rfd);
    this.in.setRawMode(true);
    this.out = new tty.WriteStream(this.wfd);
    const input = this.in;
    this.readable = new ReadableStream({
      start(controller) {
        input.on("data", (b) => controller.enqueue(new Uint8Array(b)));
        input.on("close", () => {
          try {
            controller.close();
          } catch {}
        });
      },
    });
    const output = this.out;
    this.writable = new WritableStream({
      write(chunk) {
        return new Promise((resolve, reject) => output.write(Buffer.from(chunk), (err) => (err ? reject(err) : resolve())));
      },
    });
  }
  async setSignals() {} // a PTY has no modem lines
  async close() {
    this.in.destroy();
    this.out.destroy();
    this.readable = null;
    this.writable = null;
  }
}

const [path, addressArg, file] = process.argv.slice(2);
const address = Number(addressArg);
const data = new Uint8Array(fs.readFileSync(file));
const padded = new Uint8Array(Math.ceil(data.length / 4) * 4).fill(0xff);
padded.set(data);

const log = [];
const terminal = { clean() {}, writeLine: (s) => log.push(s), write: (s) => log.push(s) };
const port = new PtySerialPort(path);
const transport = new Transport(port, false);
const loader = new ESPLoader({ transport, baudrate: 115200, terminal, debugLogging: false });

const timer = setTimeout(() => {
  console.error("timeout; esptool-js said:\n" + log.join("\n"));
  process.exit(3);
}, 60000);

try {
  await loader.detectChip("no_reset");
  await loader.flashSpiAttach(0);
  await loader.writeFlash({
    fileArray: [{ data, address }],
    flashMode: "keep",
    flashFreq: "keep",
    flashSize: "keep",
    eraseAll: false,
    compress: true,
  });
  const chipMD5 = await loader.flashMd5sum(address, padded.length);
  const fileMD5 = crypto.createHash("md5").update(padded).digest("hex");
  console.log("RESULT " + JSON.stringify({ chip: loader.chip.CHIP_NAME, stub: loader.IS_STUB, fileMD5, chipMD5 }));
  await transport.disconnect();
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  console.error(String(e && e.stack ? e.stack : e) + "\nesptool-js said:\n" + log.join("\n"));
  process.exit(2);
}
