// A second, independent OPC UA server (node-opcua) for the connector tests.
// Usage: node node_opcua_server.js PORT
// Prints "ready" when listening; then reads JSON lines from stdin:
//   {"name": "Press1.State", "value": 1, "status": "Good", "ts": 1772431200000}
const { OPCUAServer } = require("node-opcua-server");
const { Variant, DataType } = require("node-opcua-variant");
const { StatusCodes } = require("node-opcua-status-code");

const VARIABLES = { "Press1.State": DataType.Int32, "Press1.Counter": DataType.UInt32 };

async function main() {
  const port = parseInt(process.argv[2], 10);
  const server = new OPCUAServer({ port, resourcePath: "/pilotline", hostname: "127.0.0.1" });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  const ns = addressSpace.getOwnNamespace();
  const press = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: "Press1" });
  const nodes = {};
  for (const [name, dataType] of Object.entries(VARIABLES)) {
    nodes[name] = ns.addVariable({
      componentOf: press,
      nodeId: `s=${name}`,
      browseName: name.split(".")[1],
      dataType,
      value: new Variant({ dataType, value: 0 }),
    });
  }
  await server.start();
  console.log("@pilotline ready " + ns.index);
  let buffer = "";
  process.stdin.on("data", (chunk) => {
    buffer += chunk.toString();
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      const cmd = JSON.parse(line);
      const node = nodes[cmd.name];
      node.setValueFromSource(
        new Variant({ dataType: VARIABLES[cmd.name], value: cmd.value }),
        StatusCodes[cmd.status || "Good"],
        cmd.ts ? new Date(cmd.ts) : new Date()
      );
      console.log("@pilotline ok");
    }
  });
  process.stdin.on("end", async () => {
    await server.shutdown(100);
    process.exit(0);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
