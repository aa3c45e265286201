import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { storeContract } from "./contract.ts";

storeContract("memory", { open: async (clock) => new MemoryBacklogStore({ clock }) });
