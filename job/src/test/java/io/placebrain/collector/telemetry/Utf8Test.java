package io.placebrain.collector.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Utf8Test {

  @Property(tries = 5000)
  void agreesWithTheJdksStrictDecoder(@ForAll byte[] bytes) {
    assertThat(Utf8.firstInvalid(bytes) < 0).isEqualTo(strictlyDecodes(bytes));
  }

  @Property(tries = 2000)
  void acceptsEveryEncodedString(@ForAll String text) {
    // Java encodes a lone surrogate as '?', so whatever it writes is valid.
    assertThat(Utf8.firstInvalid(text.getBytes(StandardCharsets.UTF_8))).isEqualTo(-1);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "ED A0 80", // U+D800, a surrogate
        "ED BF BF", // U+DFFF
        "C0 80", // overlong NUL
        "E0 80 80", // overlong
        "F4 90 80 80", // above U+10FFFF
        "FF",
        "80",
        "E2 82", // cut short
      })
  void rejectsInvalidSequences(String hex) {
    String[] parts = hex.split(" ");
    byte[] bytes = new byte[parts.length + 1];
    bytes[0] = 'a';
    for (int i = 0; i < parts.length; i++) {
      bytes[i + 1] = (byte) Integer.parseInt(parts[i], 16);
    }
    assertThat(Utf8.firstInvalid(bytes)).isEqualTo(1);
  }

  private static boolean strictlyDecodes(byte[] bytes) {
    try {
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }
}
